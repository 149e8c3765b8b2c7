"""argon2 parameters come from [auth]; a password stored with others is re-hashed at login."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from pathlib import Path

import pytest
from argon2 import Type, extract_parameters

from shop.logs import JsonFormatter
from tests.conftest import CHEAP_ARGON2, Api, MakeApi

EMAIL = "ann@example.com"
PASSWORD = "rehash-me-please-5521"
# Cheap, but not the suite's (tests/conftest.py CHEAP_ARGON2): what the operator changed to.
NEW_ARGON2 = {"argon2_time_cost": 2, "argon2_memory_kib": 16, "argon2_parallelism": 2}


def stored_hash(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "auth.db") as conn:
        (value,) = conn.execute("SELECT password_hash FROM users WHERE email = ?", (EMAIL,)).fetchone()
    return str(value)


def parameters(password_hash: str) -> tuple[Type, int, int, int]:
    found = extract_parameters(password_hash)
    return found.type, found.time_cost, found.memory_cost, found.parallelism


async def login(api: Api, password: str = PASSWORD) -> int:
    response = await api.client.post("/api/auth/login", json={"email": EMAIL, "password": password})
    return response.status


@pytest.fixture
async def registered_before(make_api: MakeApi, tmp_path: Path) -> Path:
    """Ann registered while the shop ran with the suite's argon2 parameters; the data dir."""
    data_dir = tmp_path / "data"
    old = await make_api(data_dir=data_dir)
    await old.register("Ann", email=EMAIL, password=PASSWORD)
    await old.client.close()
    cheap = (CHEAP_ARGON2["argon2_time_cost"], CHEAP_ARGON2["argon2_memory_kib"], CHEAP_ARGON2["argon2_parallelism"])
    assert parameters(stored_hash(data_dir)) == (Type.ID, *cheap)
    return data_dir


async def test_new_passwords_are_hashed_with_the_configured_parameters(make_api: MakeApi, tmp_path: Path) -> None:
    api = await make_api(auth=NEW_ARGON2)
    await api.register("Ann", email=EMAIL, password=PASSWORD)
    assert parameters(stored_hash(tmp_path / "data")) == (Type.ID, 2, 16, 2)


async def test_a_login_rehashes_a_password_stored_with_other_parameters(
    make_api: MakeApi, registered_before: Path
) -> None:
    api = await make_api(data_dir=registered_before, auth=NEW_ARGON2)
    old_hash = stored_hash(registered_before)

    assert await login(api, "not-the-password-1") == 401
    assert stored_hash(registered_before) == old_hash  # a wrong password changes nothing

    assert await login(api) == 200
    new_hash = stored_hash(registered_before)
    assert new_hash != old_hash and parameters(new_hash) == (Type.ID, 2, 16, 2)

    assert await login(api) == 200  # the new hash verifies...
    assert stored_hash(registered_before) == new_hash  # ...and is not made again
    assert await login(api, "not-the-password-1") == 401


async def test_concurrent_logins_rehash_once_and_all_succeed(make_api: MakeApi, registered_before: Path) -> None:
    api = await make_api(data_dir=registered_before, auth=NEW_ARGON2)
    assert await asyncio.gather(*(login(api) for _ in range(4))) == [200] * 4
    new_hash = stored_hash(registered_before)
    assert parameters(new_hash) == (Type.ID, 2, 16, 2)
    assert await login(api) == 200
    assert stored_hash(registered_before) == new_hash


async def test_a_rehash_that_cannot_be_stored_does_not_fail_the_login(
    make_api: MakeApi, registered_before: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with sqlite3.connect(registered_before / "auth.db") as conn:
        conn.execute(
            "CREATE TRIGGER hashes_are_frozen BEFORE UPDATE OF password_hash ON users"
            " BEGIN SELECT RAISE(ABORT, 'password hashes are frozen'); END"
        )
    old_hash = stored_hash(registered_before)
    api = await make_api(data_dir=registered_before, auth=NEW_ARGON2)
    caplog.set_level(logging.INFO)

    assert await login(api) == 200
    assert stored_hash(registered_before) == old_hash

    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(r)) for r in caplog.records if r.name == "shop.auth"]
    [warning] = [line for line in lines if line["level"] == "warning"]
    assert "re-hash" in warning["msg"] and isinstance(warning["user_id"], int)
    everything = "\n".join(formatter.format(r) for r in caplog.records if r.name != "aiohttp.access")
    for secret in (PASSWORD, old_hash, "$argon2"):
        assert secret not in everything

"""argon2 parameters come from [auth]."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from argon2 import Type, extract_parameters

from tests.conftest import MakeApi

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


async def test_new_passwords_are_hashed_with_the_configured_parameters(make_api: MakeApi, tmp_path: Path) -> None:
    api = await make_api(auth=NEW_ARGON2)
    await api.register("Ann", email=EMAIL, password=PASSWORD)
    assert parameters(stored_hash(tmp_path / "data")) == (Type.ID, 2, 16, 2)

"""Backup while orders pour in, restore into a fresh directory, start: every order, stock
and customer is where the backup's instant left it; and restore refuses what it must."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from shop.backup import DATABASES, BackupError, backup, restore
from shop.datalock import DataDirBusy
from tests.conftest import Api, MakeApi, User
from tests.services.test_orders import place, set_stock
from tests.waiting import eventually

PRODUCT_IDS = (1, 2, 3, 4, 5)
STOCK = 10_000


async def all_pages(api: Api, path: str, user: User) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while True:
        response = await api.client.get(path, params={"limit": 200, "offset": len(found)}, headers=user.headers)
        assert response.status == 200, await response.text()
        page = await response.json()
        found += page
        if len(page) < 200:
            return found


async def stock(api: Api) -> dict[int, int]:
    answers = [await api.client.get(f"/api/products/{pid}") for pid in PRODUCT_IDS]
    return {pid: (await answer.json())["stock_quantity"] for pid, answer in zip(PRODUCT_IDS, answers, strict=True)}


def without_progress(order: dict[str, Any]) -> dict[str, Any]:
    # Status moves on after the backup (the dispatcher); what was ordered must not. Image
    # URLs are absolute on the origin called, and the restored shop listens on another port.
    kept = {key: value for key, value in order.items() if key not in ("status", "updated_at", "updated_by")}
    kept["items"] = [
        {**line, "image": urlsplit(line["image"]).path if line.get("image") else None} for line in order["items"]
    ]
    return kept


async def test_a_backup_under_load_restores_whole_orders_stock_and_customers(make_api: MakeApi, tmp_path: Path) -> None:
    live_dir, backup_dir, fresh_dir = tmp_path / "live", tmp_path / "backup", tmp_path / "fresh"
    live = await make_api(data_dir=live_dir)
    for pid in PRODUCT_IDS:
        await set_stock(live, pid, STOCK)
    customers = [await live.register(f"Customer {n}") for n in range(8)]
    placing = True
    placed = 0

    async def keep_ordering(user: User, n: int) -> None:
        nonlocal placed
        while placing:
            lines = [{"product_id": PRODUCT_IDS[(n + placed + k) % 5], "quantity": 1 + k} for k in range(2)]
            status, order = await place(live, user, {"items": lines})
            assert status == 201, order
            placed += 1

    load = [asyncio.create_task(keep_ordering(user, n)) for n, user in enumerate(customers)]
    await eventually(lambda: _at_least(placed, 20), "orders before the backup")
    entries = await asyncio.to_thread(backup, live_dir, backup_dir)
    placed_at_backup_end = placed
    await eventually(lambda: _at_least(placed - placed_at_backup_end, 20), "orders after the backup")
    placing = False
    await asyncio.gather(*load)
    await live.client.close()

    assert {e.name for e in entries} >= {f"{name}.db" for name in DATABASES}
    restore(backup_dir, fresh_dir)
    restored = await make_api(data_dir=fresh_dir)
    admin = await restored.admin()
    live_again = await make_api(data_dir=live_dir)  # the original, to compare with
    live_admin = await live_again.admin()

    originals = {o["id"]: o for o in await all_pages(live_again, "/api/orders", live_admin)}
    copies = await all_pages(restored, "/api/orders", admin)
    assert 20 <= len(copies) < len(originals)  # taken mid-load: the later orders are not in it
    for copy in copies:
        assert without_progress(copy) == without_progress(originals[copy["id"]])
    # Ids have no holes: every order committed before the backup's instant is in it.
    assert sorted(o["id"] for o in copies) == list(range(1, len(copies) + 1))

    # Stock is exactly what the restored orders took: a reservation caught without its
    # order was given back at start, as after a crash.
    taken = {pid: 0 for pid in PRODUCT_IDS}
    for copy in copies:
        for line in copy["items"]:
            taken[line["product_id"]] += line["quantity"]
    assert await stock(restored) == {pid: STOCK - taken[pid] for pid in PRODUCT_IDS}

    assert await all_pages(restored, "/api/customers", admin) == await all_pages(
        live_again, "/api/customers", live_admin
    )
    for user in customers:  # passwords and the signing secret came back too
        again = await restored.login(user.email, user.password)
        assert (await restored.client.get("/api/customers/me", headers=user.headers)).status == 200
        assert again.id == user.id

    async def all_dispatched() -> bool:
        return all(o["status"] == "Dispatched" for o in await all_pages(restored, "/api/orders", admin))

    await eventually(all_dispatched, "every restored order dispatched (events in flight were published)")


async def _at_least(value: int, minimum: int) -> bool:
    return value >= minimum


async def test_restore_refuses_while_a_shop_serves_that_directory(make_api: MakeApi, tmp_path: Path) -> None:
    live = await make_api(data_dir=tmp_path / "live")
    await live.register()
    backup(tmp_path / "live", tmp_path / "backup")
    with pytest.raises(DataDirBusy, match="serving"):
        restore(tmp_path / "backup", tmp_path / "live")
    await live.client.close()
    restore(tmp_path / "backup", tmp_path / "live")  # stopped: allowed, the old files kept aside
    assert list((tmp_path / "live").glob("replaced-*/orders.db"))


@pytest.fixture
async def a_backup(make_api: MakeApi, tmp_path: Path) -> Path:
    live = await make_api(data_dir=tmp_path / "live")
    await live.register()
    await live.client.close()
    backup(tmp_path / "live", tmp_path / "backup")
    return tmp_path / "backup"


def test_restore_refuses_a_file_that_does_not_match_its_checksum(a_backup: Path, tmp_path: Path) -> None:
    with open(a_backup / "customers.db", "r+b") as file:
        file.seek(200)
        file.write(b"\xff")
    with pytest.raises(BackupError, match=r"customers\.db does not match its checksum"):
        restore(a_backup, tmp_path / "fresh")
    assert not (tmp_path / "fresh").exists()  # refused before touching anything


def test_restore_refuses_a_schema_newer_than_the_code(a_backup: Path, tmp_path: Path) -> None:
    manifest = json.loads((a_backup / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == "orders.db":
            entry["schema_version"] = len(DATABASES["orders"]) + 1
    (a_backup / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BackupError, match=r"orders\.db has schema version .* newer than this code"):
        restore(a_backup, tmp_path / "fresh")


def test_restore_refuses_an_unfinished_backup(a_backup: Path, tmp_path: Path) -> None:
    (a_backup / "manifest.json").unlink()
    with pytest.raises(BackupError, match=r"no manifest\.json"):
        restore(a_backup, tmp_path / "fresh")


def test_backup_refuses_a_directory_that_is_not_empty(a_backup: Path, tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="not empty"):
        backup(tmp_path / "live", a_backup)
    shutil.rmtree(a_backup)


def test_run_py_backs_up_and_restores(a_backup: Path, tmp_path: Path) -> None:
    from tests.test_run import run

    result = run("backup", str(tmp_path / "second"), SHOP_DATA__DIR=str(tmp_path / "live"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "second" / "manifest.json").exists()
    result = run("restore", str(tmp_path / "second"), SHOP_DATA__DIR=str(tmp_path / "fresh"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fresh" / "orders.db").exists()
    result = run("restore", str(tmp_path / "nothing"), SHOP_DATA__DIR=str(tmp_path / "fresh"))
    assert result.returncode == 2 and "no manifest.json" in result.stderr and "Traceback" not in result.stderr

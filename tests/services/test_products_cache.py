"""The catalogue's read cache: a read after any acknowledged write sees that write, and a
read that raced a write never leaves the old answer behind."""

from __future__ import annotations

import asyncio

from shop.readcache import Answer, ReadCache
from tests.conftest import Api, MakeApi


async def get_json(api: Api, path: str) -> tuple[int, object, dict[str, str]]:
    response = await api.client.get(path)
    return response.status, await response.json(), dict(response.headers)


async def test_an_update_is_seen_by_the_next_read(api: Api) -> None:
    admin = await api.admin()
    assert (await get_json(api, "/api/products/2"))[1]["price"] == 8999  # type: ignore[index]
    await get_json(api, "/api/products")  # cached both ways now
    response = await api.client.patch("/api/products/2", json={"price": 7999.5}, headers=admin.headers)
    assert response.status == 200
    assert (await get_json(api, "/api/products/2"))[1]["price"] == 7999.5  # type: ignore[index]
    _, listed, _ = await get_json(api, "/api/products")
    assert next(p for p in listed if p["id"] == 2)["price"] == 7999.5  # type: ignore[union-attr]


async def test_a_new_product_appears_in_the_list_and_its_count(api: Api) -> None:
    admin = await api.admin()
    _, _, headers = await get_json(api, "/api/products")
    assert headers["X-Total-Count"] == "20"
    response = await api.client.post(
        "/api/products", json={"name": "Cable", "price": 5, "sku": "CBL-1"}, headers=admin.headers
    )
    assert response.status == 201
    _, after, headers = await get_json(api, "/api/products")
    assert headers["X-Total-Count"] == "21"
    assert [p["name"] for p in after][-1] == "Cable"  # type: ignore[index]


async def test_an_order_changes_the_stock_the_next_read_shows(make_api: MakeApi) -> None:
    # No dispatcher: the order stays Created, so it can be cancelled (stock given back).
    api = await make_api(dispatcher={"enabled": False})
    customer = await api.register()
    stock = (await get_json(api, "/api/products/3"))[1]["stock_quantity"]  # type: ignore[index]
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": 3, "quantity": 2}]}, headers=customer.headers
    )
    assert response.status == 201
    assert (await get_json(api, "/api/products/3"))[1]["stock_quantity"] == stock - 2  # type: ignore[index]
    order_id = (await response.json())["id"]
    response = await api.client.post(f"/api/orders/{order_id}/cancel", headers=customer.headers)
    assert response.status == 200
    assert (await get_json(api, "/api/products/3"))[1]["stock_quantity"] == stock  # type: ignore[index]


async def test_a_deleted_product_is_gone_at_once(api: Api) -> None:
    admin = await api.admin()
    assert (await get_json(api, "/api/products/4"))[0] == 200
    response = await api.client.delete("/api/products/4", headers=admin.headers)
    assert response.status == 204
    assert (await get_json(api, "/api/products/4"))[0] == 404
    _, listed, headers = await get_json(api, "/api/products")
    assert 4 not in [p["id"] for p in listed]  # type: ignore[union-attr]
    assert headers["X-Total-Count"] == "19"


async def test_filters_and_pages_are_cached_apart(api: Api) -> None:
    _, phones, _ = await get_json(api, "/api/products?category=Phones")
    _, page, headers = await get_json(api, "/api/products?limit=5&offset=5")
    assert {p["category"] for p in phones} == {"Phones"}  # type: ignore[union-attr]
    assert [p["id"] for p in page] == [6, 7, 8, 9, 10]  # type: ignore[union-attr]
    assert 'rel="next"' in headers["Link"] and 'rel="prev"' in headers["Link"]


async def test_an_answer_loaded_while_a_write_finished_is_not_kept() -> None:
    writes = 0
    cache = ReadCache(lambda: writes)
    loads = 0
    release = asyncio.Event()
    loading = asyncio.Event()

    async def slow_load() -> Answer:
        nonlocal loads
        loads += 1
        loading.set()
        await release.wait()
        return Answer(b"old")

    reader = asyncio.create_task(cache.get("k", slow_load))
    await loading.wait()
    writes += 1  # a write commits while the read is in flight
    release.set()
    assert (await reader).body == b"old"  # that reader may see the old answer...

    async def fresh_load() -> Answer:
        nonlocal loads
        loads += 1
        return Answer(b"new")

    assert (await cache.get("k", fresh_load)).body == b"new"  # ...but nobody after it
    assert (await cache.get("k", fresh_load)).body == b"new"
    assert loads == 2  # the fresh answer was kept


async def test_the_cache_stays_within_its_byte_budget() -> None:
    cache = ReadCache(lambda: 0, max_bytes=10)
    loads: list[str] = []

    def loader(key: str, size: int):  # type: ignore[no-untyped-def]
        async def load() -> Answer:
            loads.append(key)
            return Answer(b"x" * size)

        return load

    await cache.get("a", loader("a", 4))
    await cache.get("b", loader("b", 4))
    await cache.get("c", loader("c", 4))  # evicts a, the oldest
    await cache.get("b", loader("b", 4))
    await cache.get("a", loader("a", 4))
    await cache.get("big", loader("big", 11))  # larger than the budget: never kept
    await cache.get("big", loader("big", 11))
    assert loads == ["a", "b", "c", "a", "big", "big"]

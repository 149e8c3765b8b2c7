"""The products catalogue over HTTP: the seed, filters, sorting, paging, admin writes,
validation and who may do what."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from shop.app import create_app
from tests.conftest import Api, User, make_config

ORIGINAL_PRICES = {
    "Laptop": 9998,
    "Smartphone": 8999,
    "Tablet": 4599,
    "Smartwatch": 1299,
    "Wireless Earbuds": 699,
    "Gaming Laptop": 15999,
    "Mechanical Keyboard": 249,
    "Wireless Mouse": 99,
    "Monitor 27-inch": 3299,
    "External Hard Drive 2TB": 899,
    "Smart TV 55-inch": 4999,
    "Bluetooth Speaker": 299,
    "Gaming Console": 4999,
    "Action Camera": 1399,
    "Fitness Band": 599,
    "Drone": 8999,
    "Projector": 2999,
    "VR Headset": 2499,
    "E-Book Reader": 1199,
    "Portable Charger": 149,
}
FIELDS = {
    "id",
    "name",
    "description",
    "price",
    "currency",
    "stock_quantity",
    "category",
    "brand",
    "sku",
    "images",
    "ratings",
    "rating",
    "reviews",
    "additional_info",
    "specifications",
    "model",
    "created_at",
    "updated_at",
}
RFC3339_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def new_product(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Desk Lamp",
        "description": "A warm LED desk lamp with a dimmer.",
        "price": 39.99,
        "currency": "USD",
        "stock_quantity": 12,
        "category": "Home",
        "brand": "Glow",
        "sku": "HOM-GLW-LAMP1",
        "images": ["/static/products/lamp.svg", "https://cdn.example.com/lamp-2.png"],
        "ratings": 4.5,
        "reviews": [{"user": "Ada", "rating": 5, "comment": "Lovely light."}],
        "additional_info": "Bulb included.",
        "specifications": {"power": "8 W", "colour_temperature": "2700 K"},
        "model": "Glow One",
    }
    body.update(changes)
    return body


async def list_products(api: Api, query: str = "") -> tuple[list[dict[str, Any]], Any]:
    response = await api.client.get(f"/api/products{query}")
    assert response.status == 200, await response.text()
    return await response.json(), response.headers


async def names(api: Api, query: str) -> list[str]:
    products, _ = await list_products(api, query)
    return [p["name"] for p in products]


async def create(api: Api, admin: User, **changes: Any) -> dict[str, Any]:
    response = await api.client.post("/api/products", json=new_product(**changes), headers=admin.headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def patch(api: Api, admin: User, product_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    response = await api.client.patch(f"/api/products/{product_id}", json=changes, headers=admin.headers)
    assert response.status == 200, await response.text()
    return await response.json()


def links(headers: Any) -> dict[str, str]:
    """rel -> URL from an RFC 8288 Link header."""
    return {rel: url for url, rel in re.findall(r'<([^>]*)>;\s*rel="([^"]+)"', headers.get("Link", ""))}


async def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["status"] == status
    return body


# -- the seeded catalogue ------------------------------------------------------------------------


async def test_a_new_database_has_the_original_twenty_products(api: Api) -> None:
    products, headers = await list_products(api, "?limit=200")
    assert headers["X-Total-Count"] == "20"
    assert {p["name"]: p["price"] for p in products} == ORIGINAL_PRICES
    assert [p["id"] for p in products] == list(range(1, 21))
    assert len({p["sku"] for p in products}) == 20
    for product in products:
        assert set(product) == FIELDS
        assert product["currency"] == "USD"
        assert 25 <= product["stock_quantity"] <= 100
        assert product["category"] and product["brand"] and product["model"] and product["description"]
        assert product["specifications"] and all(isinstance(v, str) for v in product["specifications"].values())
        assert 1 <= len(product["reviews"]) <= 2
        assert all(0 <= r["rating"] <= 5 and r["user"] and r["comment"] for r in product["reviews"])
        assert 0 <= product["ratings"] <= 5
        assert RFC3339_UTC.match(product["created_at"]) and RFC3339_UTC.match(product["updated_at"])


async def test_every_seeded_image_is_served_by_the_shop(api: Api) -> None:
    products, _ = await list_products(api)
    images = [image for product in products for image in product["images"]]
    assert len(images) == 20 and len(set(images)) == 20
    for image in images:
        origin = str(api.client.make_url("")).rstrip("/")
        assert image.startswith(f"{origin}/static/products/") and image.endswith(".svg")
        response = await api.client.get(image.removeprefix(origin))
        assert response.status == 200, image
        assert response.content_type == "image/svg+xml"
        assert (await response.text()).lstrip().startswith("<svg")


async def test_the_catalogue_is_seeded_exactly_once(tmp_path: Path) -> None:
    cfg = make_config(tmp_path / "data")
    async with TestClient(TestServer(create_app(cfg))) as client:
        api = Api(client)
        admin = await api.admin()
        for product_id in range(1, 21):
            response = await client.delete(f"/api/products/{product_id}", headers=admin.headers)
            assert response.status == 204
    # A restart on the same data directory does not bring the deleted catalogue back.
    async with TestClient(TestServer(create_app(cfg))) as client:
        products, headers = await list_products(Api(client))
        assert products == [] and headers["X-Total-Count"] == "0"


# -- reading ---------------------------------------------------------------------------------------


async def test_get_one_product(api: Api) -> None:
    response = await api.client.get("/api/products/1")
    assert response.status == 200
    laptop = await response.json()
    assert laptop["name"] == "Laptop" and laptop["price"] == 9998 and laptop["id"] == 1
    assert response.headers["Cache-Control"] == "no-store"


async def test_a_missing_or_non_numeric_id_is_404(api: Api) -> None:
    for product_id in ["999", "0", "abc", "-1", "1.5", "1e3", "%C2%B2", "99999999999999999999999"]:
        await problem(await api.client.get(f"/api/products/{product_id}"), 404)


# -- filters, sorting, paging ------------------------------------------------------------------


async def test_q_searches_name_description_and_brand_case_insensitively(api: Api) -> None:
    assert await names(api, "?q=laptop") == ["Laptop", "Gaming Laptop"]
    assert await names(api, "?q=LAPTOP") == ["Laptop", "Gaming Laptop"]
    assert await names(api, "?q=sonique") == ["Wireless Earbuds", "Bluetooth Speaker"]  # brand
    assert await names(api, "?q=e-ink") == ["E-Book Reader"]  # description
    assert await names(api, "?q=no-such-thing") == []


async def test_q_treats_percent_and_underscore_literally(api: Api) -> None:
    admin = await api.admin()
    await create(api, admin, name="100% Cotton_Tee", sku="APP-TEE-1", description="", brand="")
    assert await names(api, "?q=%25") == ["100% Cotton_Tee"]
    assert await names(api, "?q=_") == ["100% Cotton_Tee"]
    assert await names(api, "?q=0%25 C") == ["100% Cotton_Tee"]
    assert await names(api, "?q=Cotton%25Tee") == []  # % is not a wildcard
    assert await names(api, "?q=n_T") == ["100% Cotton_Tee"]
    assert await names(api, "?q=La_top") == []  # _ is not a wildcard
    assert await names(api, "?q=%5C") == []  # a backslash is literal too


async def test_category_and_brand_filters(api: Api) -> None:
    assert await names(api, "?category=Audio") == ["Wireless Earbuds", "Bluetooth Speaker"]
    assert await names(api, "?category=audio") == ["Wireless Earbuds", "Bluetooth Speaker"]
    assert await names(api, "?brand=Pulse") == ["Smartwatch", "Fitness Band"]
    assert await names(api, "?category=Computers&brand=Raptor") == ["Gaming Laptop"]
    assert await names(api, "?category=Aud") == []  # exact, not a substring


async def test_price_filters_are_inclusive(api: Api) -> None:
    assert await names(api, "?max_price=149") == ["Wireless Mouse", "Portable Charger"]
    assert await names(api, "?max_price=148.99") == ["Wireless Mouse"]
    assert await names(api, "?min_price=1000&max_price=1399") == ["Smartwatch", "Action Camera", "E-Book Reader"]
    assert await names(api, "?min_price=9000") == ["Laptop", "Gaming Laptop"]
    assert await names(api, "?min_price=8998.999") == ["Laptop", "Smartphone", "Gaming Laptop", "Drone"]
    products, headers = await list_products(api, "?min_price=4999&sort=price")
    assert headers["X-Total-Count"] == "6"
    assert [p["price"] for p in products] == [4999, 4999, 8999, 8999, 9998, 15999]


async def test_in_stock_filter(api: Api) -> None:
    admin = await api.admin()
    await patch(api, admin, 3, {"stock_quantity": 0})
    in_stock, headers = await list_products(api, "?in_stock=true")
    assert headers["X-Total-Count"] == "19" and "Tablet" not in [p["name"] for p in in_stock]
    assert await names(api, "?in_stock=false") == ["Tablet"]
    _, headers = await list_products(api)
    assert headers["X-Total-Count"] == "20"


async def test_sorting(api: Api) -> None:
    by_name = await names(api, "?sort=name")
    assert by_name == sorted(ORIGINAL_PRICES, key=str.lower)
    assert await names(api, "?sort=-name") == by_name[::-1]
    prices = [p["price"] for p in (await list_products(api, "?sort=price"))[0]]
    assert prices == sorted(ORIGINAL_PRICES.values())
    prices = [p["price"] for p in (await list_products(api, "?sort=-price"))[0]]
    assert prices == sorted(ORIGINAL_PRICES.values(), reverse=True)
    admin = await api.admin()
    await create(api, admin, name="Newest Thing", sku="NEW-1")
    newest = (await list_products(api, "?sort=-created_at"))[0]
    assert newest[0]["name"] == "Newest Thing"
    assert [p["created_at"] for p in newest] == sorted((p["created_at"] for p in newest), reverse=True)


BAD_QUERIES = [
    ("?sort=price_desc", ["query", "sort"]),
    ("?sort=created_at", ["query", "sort"]),
    ("?min_price=cheap", ["query", "min_price"]),
    ("?max_price=-1", ["query", "max_price"]),
    ("?max_price=nan", ["query", "max_price"]),
    ("?in_stock=maybe", ["query", "in_stock"]),
    ("?limit=ten", ["query", "limit"]),
    ("?offset=-1", ["query", "offset"]),
]


async def test_bad_query_parameters_are_422(api: Api) -> None:
    for query, loc in BAD_QUERIES:
        body = await problem(await api.client.get(f"/api/products{query}"), 422)
        assert loc in [e["loc"] for e in body["errors"]], query


async def test_min_price_above_max_price_is_a_range_nothing_is_in(api: Api) -> None:
    products, headers = await list_products(api, "?min_price=100&max_price=10")
    assert products == [] and headers["X-Total-Count"] == "0"


async def test_empty_filter_parameters_are_ignored(api: Api) -> None:
    _, headers = await list_products(api, "?q=&category=&min_price=&sort=")
    assert headers["X-Total-Count"] == "20"


async def test_paging_headers(api: Api) -> None:
    first, headers = await list_products(api, "?limit=5&sort=price")
    assert len(first) == 5 and headers["X-Total-Count"] == "20"
    rels = links(headers)
    assert set(rels) == {"next"}
    assert "offset=5" in rels["next"] and "limit=5" in rels["next"] and "sort=price" in rels["next"]

    second = await api.client.get(rels["next"])
    page_two = await second.json()
    assert len(page_two) == 5
    assert not {p["id"] for p in page_two} & {p["id"] for p in first}
    assert set(links(second.headers)) == {"next", "prev"}
    assert "offset=0" in links(second.headers)["prev"]

    last, headers = await list_products(api, "?limit=5&offset=15")
    assert len(last) == 5 and set(links(headers)) == {"prev"}

    past_end, headers = await list_products(api, "?limit=5&offset=100")
    assert past_end == [] and headers["X-Total-Count"] == "20"

    filtered, headers = await list_products(api, "?category=Audio&limit=1")
    assert len(filtered) == 1 and headers["X-Total-Count"] == "2" and set(links(headers)) == {"next"}


async def test_limit_is_clamped_to_1_and_200(api: Api) -> None:
    products, headers = await list_products(api, "?limit=0")
    assert len(products) == 1 and "limit=1" in links(headers)["next"]
    products, headers = await list_products(api, "?limit=-5")
    assert len(products) == 1
    admin = await api.admin()
    for batch in range(0, 190, 38):
        await asyncio.gather(*(create(api, admin, sku=f"BULK-{n}") for n in range(batch, batch + 38)))
    products, headers = await list_products(api, "?limit=1000")
    assert len(products) == 200 and headers["X-Total-Count"] == "210"
    assert "limit=200" in links(headers)["next"]
    products, headers = await list_products(api)
    assert len(products) == 50  # the default


# -- writing as an administrator -------------------------------------------------------------------


async def test_admin_creates_a_product(api: Api) -> None:
    admin = await api.admin()
    response = await api.client.post("/api/products", json=new_product(), headers=admin.headers)
    assert response.status == 201
    created = await response.json()
    assert response.headers["Location"] == f"/api/products/{created['id']}"
    assert created["id"] == 21
    expected = {k: v for k, v in new_product().items()}
    # The shop's own image paths are answered as absolute URLs, on the origin called.
    origin = str(api.client.make_url("")).rstrip("/")
    expected["images"] = [f"{origin}/static/products/lamp.svg", "https://cdn.example.com/lamp-2.png"]
    assert {k: created[k] for k in expected} == expected
    assert created["created_at"] == created["updated_at"]
    fetched = await (await api.client.get(response.headers["Location"])).json()
    assert fetched == created


async def test_create_fills_defaults(api: Api) -> None:
    admin = await api.admin()
    created = await (
        await api.client.post(
            "/api/products", json={"name": "Cable", "price": 5, "sku": "CBL-1"}, headers=admin.headers
        )
    ).json()
    assert created["currency"] == "USD" and created["stock_quantity"] == 0
    assert created["images"] == [] and created["reviews"] == [] and created["specifications"] == {}
    assert created["description"] == "" and created["additional_info"] == "" and created["ratings"] == 0
    assert created["price"] == 5


async def test_prices_are_exact_to_the_cent(api: Api) -> None:
    admin = await api.admin()
    for price in (0.01, 0.1, 19.99, 1.15, 999999.99):
        created = await create(api, admin, sku=f"P-{price}", price=price)
        assert created["price"] == price
        assert (await (await api.client.get(f"/api/products/{created['id']}")).json())["price"] == price


async def test_duplicate_sku_is_409(api: Api) -> None:
    admin = await api.admin()
    await problem(
        await api.client.post("/api/products", json=new_product(sku="CMP-NIM-AERO14"), headers=admin.headers), 409
    )
    await problem(  # SKUs are compared without regard to case
        await api.client.post("/api/products", json=new_product(sku="cmp-nim-aero14"), headers=admin.headers), 409
    )
    _, headers = await list_products(api)
    assert headers["X-Total-Count"] == "20"


async def test_unknown_or_read_only_fields_are_422(api: Api) -> None:
    admin = await api.admin()
    for field in ["id", "created_at", "updated_at", "price_cents", "colour"]:
        body = await problem(
            await api.client.post("/api/products", json=new_product(**{field: 7}), headers=admin.headers), 422
        )
        assert {"loc": [field], "msg": "unknown or read-only field"} in body["errors"]
        body = await problem(await api.client.patch("/api/products/1", json={field: 7}, headers=admin.headers), 422)
        assert [field] in [e["loc"] for e in body["errors"]]
    _, headers = await list_products(api)
    assert headers["X-Total-Count"] == "20"


INVALID_FIELDS: list[tuple[dict[str, Any], list[Any]]] = [
    ({"price": 19.999}, ["price"]),
    ({"price": -5}, ["price"]),
    ({"price": 0}, ["price"]),
    ({"price": "19.99"}, ["price"]),
    ({"price": True}, ["price"]),
    ({"price": 1e12}, ["price"]),
    ({"currency": "usd"}, ["currency"]),
    ({"currency": "EURO"}, ["currency"]),
    ({"stock_quantity": -1}, ["stock_quantity"]),
    ({"stock_quantity": 2.5}, ["stock_quantity"]),
    ({"stock_quantity": "3"}, ["stock_quantity"]),
    ({"name": ""}, ["name"]),
    ({"sku": "has space"}, ["sku"]),
    ({"sku": ""}, ["sku"]),
    ({"ratings": 5.5}, ["ratings"]),
    ({"images": ["javascript:alert(1)"]}, ["images", 0]),
    ({"images": "/static/products/laptop.svg"}, ["images"]),
    ({"reviews": [{"user": "Bo", "rating": 6}]}, ["reviews", 0, "rating"]),
    ({"reviews": [{"user": "Bo", "rating": 4, "likes": 2}]}, ["reviews", 0, "likes"]),
    ({"specifications": {"weight": 3}}, ["specifications", "weight"]),
    ({"additional_info": {"warranty": "2 years"}}, ["additional_info"]),
]


async def test_invalid_fields_are_422_on_create_and_update(api: Api) -> None:
    admin = await api.admin()
    for changes, loc in INVALID_FIELDS:
        body = await problem(
            await api.client.post("/api/products", json=new_product(**changes), headers=admin.headers), 422
        )
        assert loc in [e["loc"] for e in body["errors"]], (changes, body)
        body = await problem(await api.client.patch("/api/products/1", json=changes, headers=admin.headers), 422)
        assert loc in [e["loc"] for e in body["errors"]], (changes, body)
    products, headers = await list_products(api)
    assert headers["X-Total-Count"] == "20" and products[0]["price"] == 9998


async def test_bodies_that_are_not_json_objects(api: Api) -> None:
    admin = await api.admin()
    headers = {**admin.headers, "Content-Type": "application/json"}
    await problem(await api.client.post("/api/products", data=b"{not json", headers=headers), 400)
    await problem(await api.client.post("/api/products", data=b"", headers=headers), 400)
    await problem(await api.client.patch("/api/products/1", data=b'{"price": ', headers=headers), 400)
    await problem(await api.client.post("/api/products", json=[new_product()], headers=admin.headers), 422)
    await problem(
        await api.client.post("/api/products", data=b"name=x", headers={**admin.headers, "Content-Type": "text/plain"}),
        415,
    )


async def test_admin_updates_a_product_partially(api: Api) -> None:
    admin = await api.admin()
    before = await (await api.client.get("/api/products/2")).json()
    after = await patch(api, admin, 2, {"price": 849.5, "stock_quantity": 0, "specifications": {"colour": "Blue"}})
    assert after["price"] == 849.5 and after["stock_quantity"] == 0 and after["specifications"] == {"colour": "Blue"}
    assert after["name"] == before["name"] and after["reviews"] == before["reviews"]
    assert after["created_at"] == before["created_at"] and after["updated_at"] > before["updated_at"]
    response = await api.client.put("/api/products/2", json={"name": "Smartphone Plus"}, headers=admin.headers)
    assert response.status == 200
    assert (await response.json())["name"] == "Smartphone Plus"
    assert (await (await api.client.get("/api/products/2")).json())["price"] == 849.5


async def test_an_empty_update_changes_nothing(api: Api) -> None:
    admin = await api.admin()
    before = await (await api.client.get("/api/products/4")).json()
    assert await patch(api, admin, 4, {}) == before


async def test_null_is_not_a_value_in_an_update(api: Api) -> None:
    admin = await api.admin()
    body = await problem(await api.client.patch("/api/products/4", json={"brand": None}, headers=admin.headers), 422)
    assert ["brand"] in [e["loc"] for e in body["errors"]]


async def test_changing_the_sku_to_a_taken_one_is_409(api: Api) -> None:
    admin = await api.admin()
    await problem(await api.client.patch("/api/products/2", json={"sku": "CMP-NIM-AERO14"}, headers=admin.headers), 409)
    assert (await (await api.client.get("/api/products/2")).json())["sku"] == "PHN-ORB-X12"
    renamed = await patch(api, admin, 2, {"sku": "PHN-ORB-X12-B"})
    assert renamed["sku"] == "PHN-ORB-X12-B"
    # Its old SKU is free again.
    await create(api, admin, sku="PHN-ORB-X12")


async def test_updating_or_deleting_a_missing_product_is_404(api: Api) -> None:
    admin = await api.admin()
    await problem(await api.client.patch("/api/products/999", json={"name": "x"}, headers=admin.headers), 404)
    await problem(await api.client.put("/api/products/abc", json={"name": "x"}, headers=admin.headers), 404)
    await problem(await api.client.delete("/api/products/999", headers=admin.headers), 404)


async def test_admin_deletes_a_product(api: Api) -> None:
    admin = await api.admin()
    response = await api.client.delete("/api/products/5", headers=admin.headers)
    assert response.status == 204 and await response.read() == b""
    await problem(await api.client.get("/api/products/5"), 404)
    await problem(await api.client.delete("/api/products/5", headers=admin.headers), 404)
    _, headers = await list_products(api)
    assert headers["X-Total-Count"] == "19"


# -- who may do what ---------------------------------------------------------------------------------

ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/api/products", None),
    ("GET", "/api/products/1", None),
    ("POST", "/api/products", new_product(sku="AUTHZ-1")),
    ("PUT", "/api/products/1", {"stock_quantity": 33}),
    ("PATCH", "/api/products/1", {"ratings": 3.5}),
    ("DELETE", "/api/products/2", None),
]
EXPECTED = {
    "anonymous": [200, 200, 401, 401, 401, 401],
    "customer A": [200, 200, 403, 403, 403, 403],
    "customer B": [200, 200, 403, 403, 403, 403],
    "admin": [200, 200, 201, 200, 200, 204],
}


@pytest.mark.parametrize("who", list(EXPECTED))
async def test_authorization_matrix(api: Api, who: str) -> None:
    """Reading is open to everyone; every write needs an administrator."""
    headers: dict[str, str] = {}
    if who.startswith("customer"):
        customer_a = await api.register("Customer A")
        headers = customer_a.headers if who == "customer A" else (await api.register("Customer B")).headers
    elif who == "admin":
        headers = (await api.admin()).headers
    statuses = []
    for method, path, body in ENDPOINTS:
        response = await api.client.request(method, path, json=body, headers=headers)
        statuses.append(response.status)
        if response.status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        if response.status >= 400:
            await problem(response, response.status)
    assert statuses == EXPECTED[who]
    products, count = await list_products(api, "?limit=200")
    if who == "admin":
        assert count["X-Total-Count"] == "20"  # one created, one deleted
        assert products[0]["stock_quantity"] == 33 and products[0]["ratings"] == 3.5
    else:  # a refused write changed nothing
        assert count["X-Total-Count"] == "20"
        assert products[0]["stock_quantity"] == 40 and products[0]["ratings"] == 4.6
        assert products[1]["name"] == "Smartphone"

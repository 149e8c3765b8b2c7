"""Regression tests for what a hostile client (schemathesis, issue 13) found: one test per
finding, fast, through the real app."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from tests.assertions import problem
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Api

ORDER = {"items": [{"product_id": 1, "quantity": 1}]}


# -- a deleted customer's token places no order ---------------------------------------------


async def test_a_deleted_customers_old_token_places_no_order(api: Api) -> None:
    admin = await api.admin()
    gone = await api.register()
    placed = await api.client.post("/api/orders", json=ORDER, headers=gone.headers)
    assert placed.status == 201
    order_id = (await placed.json())["id"]
    stock = (await (await api.client.get("/api/products/1")).json())["stock_quantity"]
    deleted = await api.client.delete(f"/api/customers/{gone.id}", headers=admin.headers)
    assert deleted.status == 204

    # Refused by the voided token (tests/test_sessions.py) or, where a process has not heard of
    # the deletion yet, by orders asking customers: either way a 401 and no order.
    refused = await api.client.post("/api/orders", json=ORDER, headers=gone.headers)
    await problem(refused, 401)
    keyed = {**gone.headers, "Idempotency-Key": "after-deletion"}
    await problem(await api.client.post("/api/orders", json=ORDER, headers=keyed), 401)
    await problem(await api.client.post(f"/api/orders/{order_id}/cancel", headers=gone.headers), 401)
    # Nothing was reserved for the refused orders.
    assert (await (await api.client.get("/api/products/1")).json())["stock_quantity"] == stock


# -- administrators' accounts ----------------------------------------------------------------


async def test_the_last_admin_cannot_delete_their_own_account(api: Api) -> None:
    admin = await api.admin()
    refused = await api.client.delete(f"/api/customers/{admin.id}", headers=admin.headers)
    assert "administrator" in (await problem(refused, 409))["detail"]
    # Both halves are still there: the profile, and a login that works.
    assert (await api.client.get(f"/api/customers/{admin.id}", headers=admin.headers)).status == 200
    assert (await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)).id == admin.id


async def test_a_profile_cannot_take_an_accounts_email(api: Api) -> None:
    admin = await api.admin()
    ann = await api.register("Ann")
    for email in (ann.email, ann.email.upper(), ADMIN_EMAIL):
        taken = await api.client.post("/api/customers", json={"name": "Copy", "email": email}, headers=admin.headers)
        await problem(taken, 409)
    walk_in = {"name": "Walk-in", "email": "walkin@example.com"}
    assert (await api.client.post("/api/customers", json=walk_in, headers=admin.headers)).status == 201
    await problem(await api.client.post("/api/customers", json=walk_in, headers=admin.headers), 409)
    listed = await (await api.client.get("/api/customers", headers=admin.headers)).json()
    assert sorted(c["email"] for c in listed) == sorted([ADMIN_EMAIL, ann.email, "walkin@example.com"])


# -- bytes that are not UTF-8 ----------------------------------------------------------------


async def raw_request(port: int, head: bytes, body: bytes = b"") -> tuple[int, str, Any]:
    """Send `head` (request line and headers) exactly as written; (status, content type, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        answer = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    lines, _, payload = answer.partition(b"\r\n\r\n")
    status = int(lines.split()[1])
    headers = dict(line.split(b": ", 1) for line in lines.split(b"\r\n")[1:])
    content_type = headers.get(b"Content-Type", b"").decode().split(";")[0]
    return status, content_type, json.loads(payload) if content_type.endswith("json") else payload


READ_HEADERS = (
    "Authorization",
    "Idempotency-Key",
    "Last-Event-ID",
    "X-Request-ID",
    "X-Forwarded-For",
    "X-Service-Token",
    "Origin",
    "If-None-Match",
    "Content-Type",
    "Accept",
)


@pytest.mark.parametrize("header", READ_HEADERS)
async def test_a_header_that_is_not_utf8_is_a_400_problem(api: Api, header: str) -> None:
    customer = await api.register()
    port = api.client.port
    assert port is not None
    token = f"Authorization: Bearer {customer.token}\r\n".encode() if header != "Authorization" else b""
    for target in (b"POST /api/orders", b"GET /api/products", b"GET /api/orders/events", b"GET /api/auth/me"):
        head = target + b" HTTP/1.1\r\nHost: shop\r\n" + token + header.encode() + b": a\x93b\r\n"
        if header != "Content-Type":
            head += b"Content-Type: application/json\r\n"
        status, content_type, body = await raw_request(port, head, json.dumps(ORDER).encode())
        if header == "Authorization" and target == b"GET /api/products":
            # An unusable token on a route anyone may call is served as anonymous (the
            # original UI sends stale ones: tests/contract/test_original_ui.py, row 4).
            assert status == 200, (target, body)
            continue
        if header in ("Authorization", "X-Service-Token"):  # a credential: a wrong one
            assert (status, content_type) == (401, "application/problem+json"), (target, body)
        else:
            assert (status, content_type) == (400, "application/problem+json"), (target, body)
            assert header in body["detail"]
        assert body["request_id"]


async def test_a_query_that_is_not_utf8_is_never_a_500(api: Api) -> None:
    admin = await api.admin()
    port = api.client.port
    assert port is not None
    token = f"Authorization: Bearer {admin.token}\r\n".encode()
    for query in (b"q=%93", b"min_price=%93", b"limit=%93", b"sort=%93", b"%93=1", b"customer_id=%93", b"status=%93"):
        for path in (b"/api/products", b"/api/orders", b"/api/customers", b"/api/dispatcher/deliveries"):
            head = b"GET " + path + b"?" + query + b" HTTP/1.1\r\nHost: shop\r\n" + token
            status, content_type, body = await raw_request(port, head)
            assert status in (200, 422), (path, query, body)
            if status == 422:
                assert content_type == "application/problem+json"
    # Not even percent-encoded: aiohttp's parser refuses the request line itself.
    status, _content_type, _body = await raw_request(port, b"GET /api/products?q=a\x93b HTTP/1.1\r\nHost: shop\r\n")
    assert status == 400


async def test_a_malformed_request_line_is_a_400(api: Api) -> None:
    """aiohttp's parser answers it before the app sees the request: a 400, plain text
    (why it is not a problem document: shop/gateway/errors.py)."""
    port = api.client.port
    assert port is not None
    status, _content_type, _body = await raw_request(port, b"GET /api/pro\x01ducts HTTP/1.1\r\nHost: shop\r\n")
    assert status == 400


# -- the shop answers what its document says ---------------------------------------------------


async def test_methods_me_does_not_have_are_405_not_a_customer_called_me(api: Api) -> None:
    admin = await api.admin()
    for method in ("PUT", "PATCH", "DELETE"):
        response = await api.client.request(method, "/api/customers/me", json={}, headers=admin.headers)
        await problem(response, 405)
        assert response.headers["Allow"] == "GET"
    assert (await api.client.get("/api/customers/me", headers=admin.headers)).status == 200


async def test_a_whole_number_written_with_a_fraction_is_a_whole_number(api: Api) -> None:
    """JSON Schema's "integer" takes 2.0; the document says integer, so the shop does too."""
    customer = await api.register()
    order = {"items": [{"product_id": 1.0, "quantity": 2.0}]}
    placed = await api.client.post("/api/orders", json=order, headers=customer.headers)
    assert placed.status == 201, await placed.text()
    assert [(line["product_id"], line["quantity"]) for line in (await placed.json())["items"]] == [(1, 2)]
    for bad in (2.5, "2", True):
        refused = await api.client.post(
            "/api/orders", json={"items": [{"product_id": 1, "quantity": bad}]}, headers=customer.headers
        )
        await problem(refused, 422)


async def test_a_path_id_that_is_not_an_id_is_404_with_one_message_in_every_service(api: Api) -> None:
    admin = await api.admin()
    paths = [
        ("GET", "/api/products/{}"),
        ("GET", "/api/customers/{}"),
        ("GET", "/api/orders/{}"),
        ("POST", "/api/orders/{}/cancel"),
        ("POST", "/api/dispatcher/deliveries/{}/retry"),
    ]
    details = set()
    for method, path in paths:
        for bad in ("abc", "-1", "1.5", "%C2%B2", "%EF%BC%91", str(2**63), "9" * 30):
            response = await api.client.request(method, path.format(bad), headers=admin.headers)
            details.add((await problem(response, 404))["detail"])
    assert details == {"No such resource."}


async def test_malformed_ids_in_headers_and_queries_are_422_for_everyone(api: Api) -> None:
    customer = await api.register()
    for value in ("abc", "", "-1", str(2**63)):
        stream = await api.client.get("/api/orders/events", headers={**customer.headers, "Last-Event-ID": value})
        await problem(stream, 422)
        listed = await api.client.get("/api/orders", params={"customer_id": value}, headers=customer.headers)
        await problem(listed, 422)
    for query in ("limit=", "offset=", f"limit={2**63}"):
        await problem(await api.client.get(f"/api/products?{query}"), 422)


async def test_the_document_has_no_blanket_default_and_bounds_what_the_shop_bounds(api: Api) -> None:
    doc = await (await api.client.get("/api/openapi.json")).json()
    place = doc["paths"]["/api/orders"]["post"]
    assert "default" not in place["responses"]
    assert {"400", "401", "409", "413", "415", "422", "429", "503"} <= set(place["responses"])
    key = next(p for p in place["parameters"] if p["name"] == "Idempotency-Key")
    assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 200)
    deliveries = doc["paths"]["/api/dispatcher/deliveries"]["get"]["parameters"]
    assert next(p for p in deliveries if p["name"] == "status")["schema"]["enum"] == ["pending", "delivered", "failed"]
    stream = doc["paths"]["/api/orders/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    assert stream["schema"]["properties"]["event"] == {"const": "status"}
    assert stream["schema"]["properties"]["data"]["contentMediaType"] == "application/json"

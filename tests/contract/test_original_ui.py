"""The original Angular UI ("goui") and the seed README's curl calls, replayed as they send
them (issue 9's table, rows 1-10), against the real app: each test asserts what the original
page reads from the answer."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from tests.conftest import JWT_SECRET, Api, MakeApi

ORIGIN = "http://localhost:4200"  # where `ng serve` runs the original UI


def stale_token() -> str:
    """What the original UI keeps in localStorage after its token expired."""
    now = int(time.time())
    claims = {
        "sub": "1",
        "email": "old@example.com",
        "role": "customer",
        "iat": now - 7200,
        "exp": now - 3600,
        "iss": "shop",
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


def registration(email: str, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "name": "Ada Original",
        "email": email,
        "password": "password-123",
        "confirmPassword": "password-123",
        "address": "1 Main St",
        "preferences": "books",
        "location": "north",
        "sex": "female",
        "city": "Springfield",
        "interests": "reading",
        "mobile": "555-0100",
    }
    return {**body, **changes}


async def test_row1_register_with_confirm_password_and_a_stale_bare_token(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register", json=registration("row1@example.com"), headers={"Authorization": stale_token()}
    )
    assert response.status == 201, await response.text()
    body = await response.json()
    assert body["message"]
    assert {"token", "token_type", "expires_in", "user"} <= set(body)
    profile = await (
        await api.client.get(
            f"/api/customers/{body['user']['id']}", headers={"Authorization": f"Bearer {body['token']}"}
        )
    ).json()
    assert "confirmPassword" not in profile and "confirm_password" not in profile


@pytest.mark.parametrize("field", ["confirmPassword", "confirm_password"])
async def test_row1_a_confirmation_that_differs_is_422_on_that_field(api: Api, field: str) -> None:
    body = registration(f"row1-{field}@example.com")
    del body["confirmPassword"]
    body[field] = "password-124"
    response = await api.client.post("/api/auth/register", json=body)
    assert response.status == 422
    problem = await response.json()
    assert [error["loc"][-1] for error in problem["errors"]] == [field]
    login = await api.client.post("/api/auth/login", json={"email": body["email"], "password": "password-123"})
    assert login.status == 401  # nothing was created


async def test_row2_login_with_a_stale_bare_token(api: Api) -> None:
    user = await api.register()
    response = await api.client.post(
        "/api/auth/login",
        json={"email": user.email, "password": user.password},
        headers={"Authorization": stale_token()},
    )
    assert response.status == 200
    body = await response.json()
    assert body["token"] and body["user"]["id"] == user.id and body["user"]["name"]


async def test_row3_forgot_password_at_the_original_path(api: Api) -> None:
    user = await api.register()
    known = await api.client.post("/api/forgot-password", json={"email": user.email})
    unknown = await api.client.post("/api/forgot-password", json={"email": "nobody@example.com"})
    assert known.status == unknown.status == 202
    assert await known.json() == await unknown.json()


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "undefined", "null", "stale"])
async def test_row4_the_catalogue_with_an_empty_or_unusable_token(api: Api, header: str) -> None:
    value = stale_token() if header == "stale" else header
    response = await api.client.get("/api/products", headers={"Authorization": value})
    assert response.status == 200, await response.text()
    products = await response.json()
    assert products
    for product in products:
        assert {"id", "name", "price"} <= set(product)
        assert product["images"][0].startswith("http")


async def test_row5_a_product_with_absolute_image_urls(api: Api) -> None:
    products = await (await api.client.get("/api/products", headers={"Authorization": ""})).json()
    response = await api.client.get(f"/api/products/{products[0]['id']}", headers={"Authorization": stale_token()})
    assert response.status == 200
    product = await response.json()
    for field in ("images", "name", "description", "price", "specifications", "brand", "model", "additional_info"):
        assert field in product
    assert "rating" in product
    image = product["images"][0]
    host = api.client.make_url("/")
    assert image.startswith(f"{host.scheme}://{host.host}:{host.port}/")
    loaded = await api.client.get(image.split(f":{host.port}", 1)[1], headers={"Origin": ORIGIN})
    assert loaded.status == 200


async def test_row6_an_order_as_a_bare_legacy_array(api: Api) -> None:
    user = await api.register()
    product = (await (await api.client.get("/api/products")).json())[0]
    body = [
        {
            "customer_id": user.id,
            "product_id": product["id"],
            "quantity": 2,
            "per_cost": product["price"],
            "total_cost": product["price"] * 2,
            "status": "Created",
        }
    ]
    response = await api.client.post("/api/orders", json=body, headers=user.headers)
    assert response.status == 201, await response.text()
    order = await response.json()
    assert order["message"] and order["order_count"] == 1 and order["order_ids"] == [order["id"]]
    mine = await (await api.client.get("/api/orders", headers=user.headers)).json()
    assert [o["id"] for o in mine] == [order["id"]]


async def test_row6_a_retried_legacy_array_answers_the_same_fields(api: Api) -> None:
    user = await api.register()
    body = [{"product_id": 2, "quantity": 1}, {"product_id": 3, "quantity": 1}]
    headers = {**user.headers, "Idempotency-Key": "legacy-checkout-1"}
    first = await api.client.post("/api/orders", json=body, headers=headers)
    retry = await api.client.post("/api/orders", json=body, headers=headers)
    assert (first.status, retry.status) == (201, 200)
    placed, again = await first.json(), await retry.json()
    assert len(placed["items"]) == 2 and placed["order_count"] == 1 and placed["order_ids"] == [placed["id"]]
    assert again["order_ids"] == [placed["id"]] and again["message"]


async def test_row6_the_current_body_gets_no_legacy_fields(api: Api) -> None:
    user = await api.register()
    product = (await (await api.client.get("/api/products")).json())[0]
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": product["id"], "quantity": 1}]}, headers=user.headers
    )
    assert response.status == 201
    assert "order_ids" not in await response.json()


async def test_row7_the_profile(api: Api) -> None:
    user = await api.register(name="Ada Original", city="Springfield")
    response = await api.client.get(f"/api/customers/{user.id}", headers=user.headers)
    assert response.status == 200
    profile = await response.json()
    assert profile["name"] == "Ada Original" and profile["city"] == "Springfield"


async def test_row8_orders_carry_the_original_per_order_fields(api: Api) -> None:
    user = await api.register()
    products = (await (await api.client.get("/api/products?sort=price")).json())[:2]
    lines = [{"product_id": products[0]["id"], "quantity": 2}, {"product_id": products[1]["id"], "quantity": 1}]
    await api.client.post("/api/orders", json=[lines[0]], headers=user.headers)
    await api.client.post("/api/orders", json={"items": lines}, headers=user.headers)
    response = await api.client.get("/api/orders", headers=user.headers)
    assert response.status == 200
    newest, oldest = await response.json()
    assert oldest["product"]["name"] == products[0]["name"]
    assert oldest["quantity"] == 2 and oldest["total_cost"] == oldest["total"] == products[0]["price"] * 2
    assert oldest["status"] in ("Created", "Dispatched") and oldest["created_at"]
    # A many-line order shows its first line's product, the quantity of all its lines, its total.
    assert newest["product"]["name"] == products[0]["name"] + " and 1 more"
    assert newest["quantity"] == 3 and newest["total_cost"] == newest["total"]


@pytest.mark.parametrize("path", ["/api/customers/{id}", "/api//customers/{id}"])
async def test_row9_saving_the_whole_profile_back(api: Api, path: str) -> None:
    user = await api.register()
    stored = await (await api.client.get(f"/api/customers/{user.id}", headers=user.headers)).json()
    response = await api.client.put(
        path.format(id=user.id),
        json={**stored, "city": "Shelbyville"},
        headers={**user.headers, "X-Request-ID": "row-9-save"},
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["city"] == "Shelbyville"
    # Answered like any other request: its own request id, the rate-limit headers.
    assert response.headers["X-Request-ID"] == "row-9-save" and "RateLimit-Limit" in response.headers


@pytest.mark.parametrize("change", [{"id": 999}, {"email": "other@example.com"}])
async def test_row9_a_changed_read_only_field_is_still_422(api: Api, change: dict[str, object]) -> None:
    user = await api.register()
    stored = await (await api.client.get(f"/api/customers/{user.id}", headers=user.headers)).json()
    response = await api.client.put(f"/api/customers/{user.id}", json={**stored, **change}, headers=user.headers)
    assert response.status == 422


def allows(response, origin: str = ORIGIN) -> bool:  # type: ignore[no-untyped-def]
    return response.headers.get("Access-Control-Allow-Origin") == origin


async def test_row10_cors_headers_on_error_answers(make_api: MakeApi) -> None:
    api = await make_api(gateway={"cors_origins": [ORIGIN], "auth_rate_limit_per_minute": 1})
    origin = {"Origin": ORIGIN}
    user = await api.register()
    product = (await (await api.client.get("/api/products")).json())[0]
    answers = {
        401: await api.client.get("/api/orders", headers={**origin, "Authorization": stale_token()}),
        404: await api.client.get("/api/nothing-here", headers=origin),
        405: await api.client.delete("/api/products", headers={**origin, **user.headers}),
        409: await api.client.post(
            "/api/orders",
            json=[{"product_id": product["id"], "quantity": product["stock_quantity"] + 1}],
            headers={**origin, **user.headers},
        ),
        422: await api.client.put(f"/api/customers/{user.id}", json={"id": 999}, headers={**origin, **user.headers}),
    }
    await api.client.post("/api/auth/login", json={"email": user.email, "password": "x"}, headers=origin)
    answers[429] = await api.client.post("/api/auth/login", json={"email": user.email, "password": "x"}, headers=origin)
    for status, response in answers.items():
        assert response.status == status, (status, await response.text())
        assert allows(response), status
        assert "X-Request-ID" in response.headers.get("Access-Control-Expose-Headers", ""), status


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/orders", "/api//customers/1"])
async def test_row10_preflights_anywhere(make_api: MakeApi, path: str) -> None:
    api = await make_api(gateway={"cors_origins": [ORIGIN]})
    response = await api.client.options(
        path,
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert response.status in (200, 204)
    assert allows(response)
    assert "PUT" in response.headers["Access-Control-Allow-Methods"]


async def test_row10_an_origin_not_allowed_gets_nothing(make_api: MakeApi) -> None:
    api = await make_api(gateway={"cors_origins": [ORIGIN]})
    response = await api.client.get("/api/nothing-here", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


async def test_the_seed_readmes_bare_token_still_works(api: Api) -> None:
    user = await api.register()
    response = await api.client.get("/api/orders", headers={"Authorization": user.token})
    assert response.status == 200


async def test_api_token_is_not_recreated(api: Api) -> None:
    for method in ("GET", "POST"):
        response = await api.client.request(method, "/api/token")
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        assert "/api/auth/login" in (await response.json())["detail"]


async def test_row10_cors_headers_on_a_503_and_a_stale_token_in_a_split_deployment(make_api: MakeApi) -> None:
    # The catalogue runs elsewhere, and that process is down.
    api = await make_api(
        gateway={"cors_origins": [ORIGIN]},
        services={"products": {"url": "http://127.0.0.1:9"}},
    )
    response = await api.client.get("/api/products", headers={"Origin": ORIGIN, "Authorization": stale_token()})
    assert response.status == 503, await response.text()
    assert allows(response)


async def test_the_openapi_document_describes_the_new_endpoints(api: Api) -> None:
    doc = await (await api.client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    assert "202" in paths["/api/auth/forgot-password"]["post"]["responses"]
    assert "/api/forgot-password" in paths["/api/auth/forgot-password"]["post"]["description"]
    reset = paths["/api/auth/reset-password"]["post"]
    assert "204" in reset["responses"] and "422" in reset["responses"]
    assert paths["/api/token"]["post"]["deprecated"] is True
    assert "404" in paths["/api/token"]["post"]["responses"]
    register = paths["/api/auth/register"]["post"]["responses"]["201"]["content"]["application/json"]["schema"]
    assert register == {"$ref": "#/components/schemas/RegisterResponse"}
    assert "message" in doc["components"]["schemas"]["RegisterResponse"]["properties"]
    assert {"product", "quantity", "total_cost"} <= set(doc["components"]["schemas"]["OrderAnswer"]["properties"])

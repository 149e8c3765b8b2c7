"""The customers service through the real app: every endpoint's success and error paths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.assertions import problem, validation_problem
from tests.conftest import ADMIN_EMAIL, Api, User

CUSTOMER_KEYS = {
    "id",
    "name",
    "email",
    "address",
    "city",
    "mobile",
    "preferences",
    "location",
    "sex",
    "interests",
    "created_at",
    "updated_at",
}


@pytest.fixture
async def admin(api: Api) -> User:
    return await api.admin()


async def create(api: Api, admin: User, **body: Any) -> Any:
    body = {"name": "Walk-in", "email": "walkin@example.com", **body}
    return await api.client.post("/api/customers", json=body, headers=admin.headers)


# -- list -------------------------------------------------------------------------------------


async def test_admin_lists_customers_as_a_bare_array(api: Api, admin: User) -> None:
    ann = await api.register("Ann")
    response = await api.client.get("/api/customers", headers=admin.headers)
    assert response.status == 200
    body = await response.json()
    assert isinstance(body, list)
    assert [c["email"] for c in body] == [ADMIN_EMAIL, ann.email]
    assert all(set(c) == CUSTOMER_KEYS for c in body)
    assert response.headers["X-Total-Count"] == "2"
    assert "Link" not in response.headers


async def test_list_pages_with_total_and_link(api: Api, admin: User) -> None:
    for n in range(3):
        assert (await create(api, admin, email=f"c{n}@example.com")).status == 201
    first = await api.client.get("/api/customers?limit=2", headers=admin.headers)
    assert len(await first.json()) == 2
    assert first.headers["X-Total-Count"] == "4"
    assert 'rel="next"' in first.headers["Link"] and "offset=2" in first.headers["Link"]
    second = await api.client.get("/api/customers?limit=2&offset=2", headers=admin.headers)
    assert [c["email"] for c in await second.json()] == ["c1@example.com", "c2@example.com"]
    assert 'rel="prev"' in second.headers["Link"] and 'rel="next"' not in second.headers["Link"]


@pytest.mark.parametrize("query", ["limit=abc", "offset=-1", "offset=x"])
async def test_list_rejects_bad_paging(api: Api, admin: User, query: str) -> None:
    await problem(await api.client.get(f"/api/customers?{query}", headers=admin.headers), 422)


async def test_list_clamps_the_limit(api: Api, admin: User) -> None:
    response = await api.client.get("/api/customers?limit=0", headers=admin.headers)
    assert len(await response.json()) == 1  # clamped to 1, not an error


# -- create -----------------------------------------------------------------------------------


async def test_admin_creates_a_profile_without_login(api: Api, admin: User) -> None:
    response = await create(api, admin, email="Walkin@Example.com", city="Bergen")
    assert response.status == 201
    body = await response.json()
    assert set(body) == CUSTOMER_KEYS
    assert body["email"] == "walkin@example.com" and body["city"] == "Bergen" and body["address"] == ""
    assert body["created_at"] == body["updated_at"] and body["created_at"].endswith("Z")
    assert response.headers["Location"] == f"/api/customers/{body['id']}"
    fetched = await api.client.get(response.headers["Location"], headers=admin.headers)
    assert await fetched.json() == body
    # A profile is not a login.
    login = await api.client.post("/api/auth/login", json={"email": "walkin@example.com", "password": "whatever-1"})
    await problem(login, 401)


async def test_create_duplicate_email_is_409(api: Api, admin: User) -> None:
    assert (await create(api, admin)).status == 201
    await problem(await create(api, admin, email="WALKIN@example.com"), 409)


async def test_register_with_an_email_that_has_a_profile_is_409(api: Api, admin: User) -> None:
    assert (await create(api, admin)).status == 201
    response = await api.client.post(
        "/api/auth/register", json={"name": "X", "email": "walkin@example.com", "password": "password-123"}
    )
    await problem(response, 409)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"email": "not-an-email"}, ["email"]),
        ({"name": ""}, ["name"]),
        ({"id": 99}, ["id"]),
        ({"created_at": "2020-01-01T00:00:00Z"}, ["created_at"]),
        ({"nickname": "x"}, ["nickname"]),
        ({"mobile": "1" * 41}, ["mobile"]),
    ],
)
async def test_create_validates(api: Api, admin: User, body: dict[str, Any], fields: list[str]) -> None:
    await validation_problem(await create(api, admin, **body), *fields)


# -- me and get -------------------------------------------------------------------------------


async def test_me_is_the_callers_profile(api: Api) -> None:
    ann = await api.register("Ann", city="Oslo")
    response = await api.client.get("/api/customers/me", headers=ann.headers)
    assert response.status == 200
    body = await response.json()
    assert set(body) == CUSTOMER_KEYS
    assert (body["id"], body["name"], body["email"], body["city"]) == (ann.id, "Ann", ann.email, "Oslo")


async def test_me_without_token_is_401(api: Api) -> None:
    await problem(await api.client.get("/api/customers/me"), 401)


async def test_a_deleted_customers_tokens_are_refused_everywhere(api: Api, admin: User) -> None:
    ann = await api.register()
    await api.client.delete(f"/api/customers/{ann.id}", headers=admin.headers)
    for method, path in [("GET", "/api/customers/me"), ("GET", "/api/orders"), ("GET", "/api/auth/me")]:
        await problem(await api.client.request(method, path, headers=ann.headers), 401)
    response = await api.client.post(
        "/api/orders", json={"items": [{"product_id": 1, "quantity": 1}]}, headers=ann.headers
    )
    await problem(response, 401)


async def test_get_own_profile(api: Api) -> None:
    ann = await api.register("Ann")
    response = await api.client.get(f"/api/customers/{ann.id}", headers=ann.headers)
    assert response.status == 200
    assert (await response.json())["email"] == ann.email


@pytest.mark.parametrize("customer_id", ["999999", "abc", "-1", "1.5"])
async def test_get_missing_is_404(api: Api, admin: User, customer_id: str) -> None:
    await problem(await api.client.get(f"/api/customers/{customer_id}", headers=admin.headers), 404)


# -- update -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_owner_updates_profile_fields(api: Api, method: str) -> None:
    ann = await api.register("Ann", city="Oslo", mobile="123")
    before = await (await api.client.get("/api/customers/me", headers=ann.headers)).json()
    response = await api.client.request(
        method, f"/api/customers/{ann.id}", json={"city": "Bergen", "interests": "hiking"}, headers=ann.headers
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["city"], body["interests"], body["mobile"], body["name"]) == ("Bergen", "hiking", "123", "Ann")
    assert body["updated_at"] >= before["updated_at"] and body["created_at"] == before["created_at"]
    assert await (await api.client.get("/api/customers/me", headers=ann.headers)).json() == body


async def test_admin_updates_any_profile(api: Api, admin: User) -> None:
    ann = await api.register("Ann")
    response = await api.client.patch(f"/api/customers/{ann.id}", json={"name": "Anna"}, headers=admin.headers)
    assert response.status == 200
    assert (await response.json())["name"] == "Anna"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"id": 12345}, "id"),
        ({"email": "new@example.com"}, "email"),
        ({"role": "admin"}, "role"),
        ({"password": "new-password-1"}, "password"),
        ({"created_at": "2020-01-01T00:00:00Z"}, "created_at"),
        ({"favourite_colour": "red"}, "favourite_colour"),
        ({"name": ""}, "name"),
        ({"mobile": "9" * 41}, "mobile"),
        ({"city": 5}, "city"),
    ],
)
async def test_update_rejects_read_only_unknown_and_invalid_fields(api: Api, body: dict[str, Any], field: str) -> None:
    ann = await api.register("Ann", city="Oslo")
    before = await (await api.client.get("/api/customers/me", headers=ann.headers)).json()
    response = await api.client.patch(f"/api/customers/{ann.id}", json={"city": "Bergen", **body}, headers=ann.headers)
    await validation_problem(response, field)
    # Nothing of a rejected update is applied, not even its valid part.
    assert await (await api.client.get("/api/customers/me", headers=ann.headers)).json() == before


async def test_update_missing_is_404(api: Api, admin: User) -> None:
    await problem(await api.client.patch("/api/customers/999999", json={"city": "x"}, headers=admin.headers), 404)
    await problem(await api.client.put("/api/customers/999999", json={}, headers=admin.headers), 404)


async def test_update_with_malformed_json_is_400(api: Api) -> None:
    ann = await api.register()
    response = await api.client.patch(
        f"/api/customers/{ann.id}", data=b"{city:", headers={**ann.headers, "Content-Type": "application/json"}
    )
    await problem(response, 400)


# -- delete -----------------------------------------------------------------------------------


async def test_admin_deletes_a_profile(api: Api, admin: User) -> None:
    created = await (await create(api, admin)).json()
    response = await api.client.delete(f"/api/customers/{created['id']}", headers=admin.headers)
    assert response.status == 204
    assert await response.read() == b""
    await problem(await api.client.get(f"/api/customers/{created['id']}", headers=admin.headers), 404)
    await problem(await api.client.delete(f"/api/customers/{created['id']}", headers=admin.headers), 404)


@pytest.mark.parametrize("customer_id", ["99999999999999999999999", "9223372036854775808", "²", "１"])
async def test_ids_outside_the_database_range_are_404(api: Api, admin: User, customer_id: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await api.client.request(method, f"/api/customers/{customer_id}", json={}, headers=admin.headers)
        await problem(response, 404)


@pytest.mark.parametrize("offset", ["99999999999999999999999", "9223372036854775808"])
async def test_an_offset_beyond_the_id_range_is_422(api: Api, admin: User, offset: str) -> None:
    response = await api.client.get(f"/api/customers?offset={offset}", headers=admin.headers)
    await problem(response, 422)


@pytest.mark.parametrize("field", ["name", "city", "address"])
async def test_update_with_null_is_422_not_ignored(api: Api, field: str) -> None:
    ann = await api.register("Ann", city="Oslo", address="1 Main St")
    response = await api.client.patch(f"/api/customers/{ann.id}", json={field: None}, headers=ann.headers)
    await validation_problem(response, field)


async def test_deleting_a_customer_removes_their_login(api: Api, admin: User) -> None:
    ann = await api.register(email="gone@example.com")
    response = await api.client.delete(f"/api/customers/{ann.id}", headers=admin.headers)
    assert response.status == 204
    response = await api.client.post("/api/auth/login", json={"email": "gone@example.com", "password": ann.password})
    assert response.status == 401
    assert (await api.client.get("/api/auth/me", headers=ann.headers)).status == 401
    # The email is free again.
    again = await api.register(email="gone@example.com")
    assert again.id != ann.id


async def test_a_new_name_is_the_logins_name_too(api: Api) -> None:
    ann = await api.register("Ann")
    response = await api.client.patch(f"/api/customers/{ann.id}", json={"name": "Ann Renamed"}, headers=ann.headers)
    assert response.status == 200
    me = await (await api.client.get("/api/auth/me", headers=ann.headers)).json()
    assert me["name"] == "Ann Renamed"
    login = await api.client.post("/api/auth/login", json={"email": ann.email, "password": ann.password})
    assert (await login.json())["user"]["name"] == "Ann Renamed"

"""Who may do what to a customer record: anonymous, customer A, customer B and an admin over
every customers endpoint. No request of one customer ever touches another's record, and a
foreign record looks exactly like a missing one (404, never 403)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.assertions import problem
from tests.conftest import Api, User

CALLERS = ("anonymous", "customer_a", "customer_b", "admin")


@dataclass
class Cast:
    a: User
    b: User
    admin: User

    def headers(self, caller: str) -> dict[str, str]:
        return {
            "anonymous": {},
            "customer_a": self.a.headers,
            "customer_b": self.b.headers,
            "admin": self.admin.headers,
        }[caller]


@pytest.fixture
async def cast(api: Api) -> Cast:
    a = await api.register("Customer A", email="a@example.com", city="Oslo")
    b = await api.register("Customer B", email="b@example.com", city="Rome")
    return Cast(a, b, await api.admin())


# (method, path with {a} for A's id, body, expected status per caller)
MATRIX: list[tuple[str, str, Any, dict[str, int]]] = [
    ("GET", "/api/customers", None, {"anonymous": 401, "customer_a": 403, "customer_b": 403, "admin": 200}),
    (
        "POST",
        "/api/customers",
        {"name": "New", "email": "new-{caller}@example.com"},
        {"anonymous": 401, "customer_a": 403, "customer_b": 403, "admin": 201},
    ),
    ("GET", "/api/customers/me", None, {"anonymous": 401, "customer_a": 200, "customer_b": 200, "admin": 200}),
    ("GET", "/api/customers/{a}", None, {"anonymous": 401, "customer_a": 200, "customer_b": 404, "admin": 200}),
    (
        "PUT",
        "/api/customers/{a}",
        {"city": "Changed by {caller}"},
        {"anonymous": 401, "customer_a": 200, "customer_b": 404, "admin": 200},
    ),
    (
        "PATCH",
        "/api/customers/{a}",
        {"city": "Changed by {caller}"},
        {"anonymous": 401, "customer_a": 200, "customer_b": 404, "admin": 200},
    ),
    ("DELETE", "/api/customers/{a}", None, {"anonymous": 401, "customer_a": 403, "customer_b": 403, "admin": 204}),
]


def _fill(body: Any, caller: str) -> Any:
    if body is None:
        return None
    return {key: value.format(caller=caller) for key, value in body.items()}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path", "body", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
async def test_authorization_matrix(
    api: Api, cast: Cast, caller: str, method: str, path: str, body: Any, expected: dict[str, int]
) -> None:
    a_before = await (await api.client.get(f"/api/customers/{cast.a.id}", headers=cast.admin.headers)).json()
    listed_before = await (await api.client.get("/api/customers", headers=cast.admin.headers)).json()

    response = await api.client.request(
        method, path.format(a=cast.a.id), json=_fill(body, caller), headers=cast.headers(caller)
    )
    status = expected[caller]
    if status >= 400:
        await problem(response, status)
        if status == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
        # A refused request changed nothing.
        a_after = await api.client.get(f"/api/customers/{cast.a.id}", headers=cast.admin.headers)
        assert await a_after.json() == a_before
        listed_after = await (await api.client.get("/api/customers", headers=cast.admin.headers)).json()
        assert listed_after == listed_before
    else:
        assert response.status == status, await response.text()

    if status == 200 and path == "/api/customers/me":
        own = {"customer_a": cast.a, "customer_b": cast.b, "admin": cast.admin}[caller]
        assert (await response.json())["id"] == own.id


async def test_b_cannot_tell_a_foreign_record_from_a_missing_one(api: Api, cast: Cast) -> None:
    foreign = await problem(await api.client.get(f"/api/customers/{cast.a.id}", headers=cast.b.headers), 404)
    missing = await problem(await api.client.get("/api/customers/999999", headers=cast.b.headers), 404)
    assert foreign["detail"] == missing["detail"] and foreign["title"] == missing["title"]


async def test_b_cannot_update_a_through_the_body(api: Api, cast: Cast) -> None:
    # B updating "their own" record cannot smuggle A's id in: ids are read-only.
    response = await api.client.patch(f"/api/customers/{cast.b.id}", json={"id": cast.a.id}, headers=cast.b.headers)
    await problem(response, 422)
    a_now = await (await api.client.get(f"/api/customers/{cast.a.id}", headers=cast.a.headers)).json()
    assert a_now["city"] == "Oslo" and a_now["name"] == "Customer A"

from __future__ import annotations

from tests.conftest import Api


async def test_register_login_me(api: Api) -> None:
    user = await api.register("Ann", email="ann@example.com")
    again = await api.login("ann@example.com", user.password)
    assert again.id == user.id
    response = await api.client.get("/api/auth/me", headers=again.headers)
    assert response.status == 200
    assert await response.json() == {"id": user.id, "name": "Ann", "email": "ann@example.com", "role": "customer"}


async def test_unknown_route_is_a_problem_document(api: Api) -> None:
    response = await api.client.get("/no/such/thing")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = await response.json()
    assert body["status"] == 404 and body["request_id"] == response.headers["X-Request-ID"]

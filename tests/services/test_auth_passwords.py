"""A password is compared exactly as it was typed, spaces and all."""

from __future__ import annotations

from tests.conftest import Api


async def test_a_password_with_surrounding_spaces_logs_in_as_typed(api: Api) -> None:
    padded = "  correct horse battery  "
    user = await api.register(email="spaces@example.com", password=padded)
    assert (await api.login("spaces@example.com", padded)).id == user.id
    response = await api.client.post(
        "/api/auth/login", json={"email": "spaces@example.com", "password": padded.strip()}
    )
    assert response.status == 401


async def test_spaces_do_not_make_a_short_password_long_enough(api: Api) -> None:
    response = await api.client.post(
        "/api/auth/register", json={"name": "Short", "email": "short@example.com", "password": "       x"}
    )
    assert response.status == 201  # eight characters, as typed: spaces count
    response = await api.client.post(
        "/api/auth/register", json={"name": "Short", "email": "short2@example.com", "password": "  abc  "}
    )
    assert response.status == 422

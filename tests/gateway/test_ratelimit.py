"""Rate limiting per caller, the stricter login/register budget, and the RateLimit headers.

The refill rates are tiny, so no token comes back while a test runs: no clocks, no sleeps."""

from __future__ import annotations

from tests.assertions import problem
from tests.conftest import Api, MakeApi

SLOW = 0.001  # requests per second: effectively no refill during a test


async def test_burst_then_429_with_retry_after(make_api: MakeApi) -> None:
    api = await make_api(gateway={"rate_limit_per_second": SLOW, "rate_limit_burst": 3})
    user = await api.register()
    remaining = []
    for _ in range(3):
        response = await api.client.get("/api/auth/me", headers=user.headers)
        assert response.status == 200
        assert response.headers["RateLimit-Limit"] == "3"
        remaining.append(int(response.headers["RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]

    response = await api.client.get("/api/auth/me", headers=user.headers)
    body = await problem(response, 429)
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "0"
    assert int(response.headers["RateLimit-Reset"]) >= 1
    assert "try again" in body["detail"].lower()


async def test_limits_are_per_caller(make_api: MakeApi) -> None:
    api = await make_api(gateway={"rate_limit_per_second": SLOW, "rate_limit_burst": 2})
    ann = await api.register()
    bob = await api.register()
    for _ in range(2):
        assert (await api.client.get("/api/auth/me", headers=ann.headers)).status == 200
    await problem(await api.client.get("/api/auth/me", headers=ann.headers), 429)
    # Bob comes from the same address but is a different caller.
    assert (await api.client.get("/api/auth/me", headers=bob.headers)).status == 200
    # Anonymous callers are counted by address, separately from the users.
    assert (await api.client.get("/api/customers/me")).status == 401


async def test_login_and_register_have_a_stricter_budget(make_api: MakeApi) -> None:
    api = await make_api(gateway={"auth_rate_limit_per_minute": 3})
    user = await api.register()  # 1
    wrong = {"email": user.email, "password": "wrong-password"}
    assert (await api.client.post("/api/auth/login", json=wrong)).status == 401  # 2
    response = await api.client.post("/api/auth/login", json=wrong)  # 3
    assert response.status == 401
    assert response.headers["RateLimit-Limit"] == "3" and response.headers["RateLimit-Remaining"] == "0"

    right = {"email": user.email, "password": user.password}
    refused = await api.client.post("/api/auth/login", json=right)
    await problem(refused, 429)
    assert int(refused.headers["Retry-After"]) >= 1
    register = await api.client.post(
        "/api/auth/register", json={"name": "B", "email": "b@example.com", "password": "password-123"}
    )
    await problem(register, 429)
    # The general budget is separate: the same client may still use the rest of the API.
    me = await api.client.get("/api/auth/me", headers=user.headers)
    assert me.status == 200
    assert me.headers["RateLimit-Limit"] == "10000"


async def test_normal_api_responses_carry_rate_limit_headers(api: Api) -> None:
    user = await api.register()
    for response in (
        await api.client.get("/api/auth/me", headers=user.headers),
        await api.client.get("/api/customers/me", headers=user.headers),
        await api.client.get("/api/customers/me"),  # errors too
    ):
        assert {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"} <= set(response.headers)
        assert int(response.headers["RateLimit-Remaining"]) < int(response.headers["RateLimit-Limit"])


async def test_probes_are_not_rate_limited(make_api: MakeApi) -> None:
    api = await make_api(gateway={"rate_limit_per_second": SLOW, "rate_limit_burst": 1})
    for _ in range(3):
        assert (await api.client.get("/health")).status == 200


async def test_requests_refused_with_a_bad_token_are_counted_too(make_api: MakeApi) -> None:
    api = await make_api(gateway={"rate_limit_per_second": SLOW, "rate_limit_burst": 3})
    for _ in range(3):
        await problem(await api.client.get("/api/auth/me", headers={"Authorization": "Bearer not-a-token"}), 401)
    # The address spent its budget on them: the next request, even a good one, waits.
    await problem(await api.client.get("/api/products"), 429)


async def test_bodies_refused_for_size_or_type_are_counted_too(make_api: MakeApi) -> None:
    api = await make_api(gateway={"rate_limit_per_second": SLOW, "rate_limit_burst": 2, "max_body_bytes": 1024})
    await problem(
        await api.client.post("/api/orders", data=b"x" * 2048, headers={"Content-Type": "application/json"}), 413
    )
    await problem(
        await api.client.post("/api/products", data=b"<xml/>", headers={"Content-Type": "application/xml"}), 415
    )
    await problem(await api.client.get("/api/products"), 429)

"""Operations endpoints: /health, /ready, /api/registry and /metrics."""

from __future__ import annotations

import time
import uuid
from datetime import datetime

import jwt
from prometheus_client.parser import text_string_to_metric_families

from tests.assertions import problem
from tests.conftest import JWT_SECRET, Api, MakeApi


async def test_health(api: Api) -> None:
    response = await api.client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok"}


async def test_ready_lists_every_local_service(api: Api) -> None:
    response = await api.client.get("/ready")
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["status"] == "ready"
    assert {"auth", "customers"} <= set(body["checks"])
    assert all(ok is True for ok in body["checks"].values()), body


async def test_ready_is_503_naming_a_remote_service_that_is_down(make_api: MakeApi, unused_tcp_port: int) -> None:
    api = await make_api(services={"customers": {"url": f"http://127.0.0.1:{unused_tcp_port}"}})
    response = await api.client.get("/ready")
    body = await problem(response, 503)
    assert "customers" in body["detail"]
    assert body["checks"]["customers"] is False
    assert body["checks"]["auth"] is True


async def test_registry_needs_an_admin(api: Api) -> None:
    response = await api.client.get("/api/registry")
    await problem(response, 401)
    user = await api.register()
    await problem(await api.client.get("/api/registry", headers=user.headers), 403)


async def test_registry_lists_services(api: Api) -> None:
    admin = await api.admin()
    response = await api.client.get("/api/registry", headers=admin.headers)
    assert response.status == 200
    entries = await response.json()
    assert isinstance(entries, list)
    by_name = {entry["name"]: entry for entry in entries}
    assert {"auth", "customers"} <= set(by_name)
    for entry in entries:
        assert set(entry) == {"name", "location", "healthy", "checked_at"}
        assert entry["location"] == "local" and entry["healthy"] is True
        datetime.fromisoformat(entry["checked_at"].replace("Z", "+00:00"))


async def test_registry_shows_a_remote_url_and_its_health(make_api: MakeApi, unused_tcp_port: int) -> None:
    url = f"http://127.0.0.1:{unused_tcp_port}"
    api = await make_api(services={"customers": {"url": url}})
    await api.client.get("/ready")  # a check finds it down
    token = admin_token_without_customers()
    response = await api.client.get("/api/registry", headers={"Authorization": f"Bearer {token}"})
    by_name = {entry["name"]: entry for entry in await response.json()}
    assert by_name["customers"]["location"] == url and by_name["customers"]["healthy"] is False


def admin_token_without_customers() -> str:
    # With customers down no admin account exists yet; a token with the admin role stands in.
    now = int(time.time())
    claims = {
        "sub": "1",
        "email": "admin@example.com",
        "role": "admin",
        "iat": now,
        "exp": now + 60,
        "iss": "shop",
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


async def test_metrics_on_loopback_is_prometheus_text(api: Api) -> None:
    await api.client.get("/health")
    await api.client.get("/api/customers/me")
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    assert "# TYPE shop_http_requests_total counter" in text
    assert 'shop_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert 'route="/api/customers/me",status="401"' in text
    assert "shop_http_request_duration_seconds_bucket" in text


async def test_metrics_are_what_prometheus_reads(api: Api) -> None:
    # Parsed by prometheus_client's own parser: the format is written by shop/metrics.py.
    for path in ("/api/products/1", "/api/products/999999"):
        await api.client.get(path)
    response = await api.client.get("/metrics")
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = {family.name: family for family in text_string_to_metric_families(await response.text())}
    assert families["shop_http_requests"].type == "counter"
    assert families["shop_http_request_duration_seconds"].type == "histogram"
    assert families["shop_http_requests_created"].type == "gauge"
    counted = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for sample in families["shop_http_requests"].samples
    }
    assert counted[("/api/products/{product_id}", "200")] == 1
    assert counted[("/api/products/{product_id}", "404")] == 1
    histogram = [s for s in families["shop_http_request_duration_seconds"].samples if s.name.endswith("_bucket")]
    assert [s.labels["le"] for s in histogram[:13]] == [
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "+Inf",
    ]  # fmt: skip


async def test_metrics_count_every_request_by_route_and_status(api: Api) -> None:
    for path in ("/api/products/1", "/api/products/2", "/api/products/999999"):
        await api.client.get(path)
    text = await (await api.client.get("/metrics")).text()
    samples = dict(line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))
    route = 'method="GET",route="/api/products/{product_id}"'
    assert float(samples[f'shop_http_requests_total{{{route},status="200"}}']) == 2
    assert float(samples[f'shop_http_requests_total{{{route},status="404"}}']) == 1
    assert float(samples[f"shop_http_request_duration_seconds_count{{{route}}}"]) == 3
    assert float(samples[f'shop_http_request_duration_seconds_bucket{{le="+Inf",{route}}}']) == 3
    buckets = [
        float(value)
        for name, value in samples.items()
        if name.startswith("shop_http_request_duration_seconds_bucket") and route in name
    ]
    assert buckets == sorted(buckets) and len(buckets) == 13  # cumulative, twelve bounds and +Inf
    assert 0 < float(samples[f"shop_http_request_duration_seconds_sum{{{route}}}"]) < 30
    assert f'shop_http_requests_created{{{route},status="200"}}' in samples

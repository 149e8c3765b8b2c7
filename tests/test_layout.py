"""Which services a process runs (`--services`), and the layouts refused at start-up with a
message that names the missing setting and its environment variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shop.app import create_app
from shop.config import ConfigError, load_config
from shop.layout import plan_layout
from tests.conftest import MakeApi, make_config

REPO = Path(__file__).resolve().parent.parent
URL = "http://127.0.0.1:9"


def urls(*names: str) -> dict[str, dict[str, Any]]:
    return {name: {"url": f"{URL}/{name}"} for name in names}


def test_by_default_every_service_without_a_url_runs_here_behind_the_gateway(tmp_path: Path) -> None:
    layout = plan_layout(make_config(tmp_path, services=urls("products")))
    assert layout.local == {"auth", "customers", "orders", "dispatcher"}
    assert layout.remote == {"products": f"{URL}/products"}
    assert layout.gateway and layout.forwarded() == ["products"]


def test_named_services_run_here_even_when_their_url_is_configured(tmp_path: Path) -> None:
    # One set of urls serves every process: a url says how the *others* reach a service.
    cfg = make_config(tmp_path, services=urls("auth", "customers", "products"))
    layout = plan_layout(cfg, ["auth", "customers"])
    assert layout.local == {"auth", "customers"}
    assert layout.remote == {"products": f"{URL}/products"}
    assert not layout.gateway and layout.forwarded() == []


def test_the_gateway_with_local_services_forwards_only_the_others(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, services=urls("products", "orders", "dispatcher"), bus={"kind": "kafka"})
    layout = plan_layout(cfg, ["gateway", "auth", "customers"])
    assert layout.local == {"auth", "customers"}
    assert layout.forwarded() == ["dispatcher", "orders", "products"]


@pytest.mark.parametrize(
    ("services", "missing"),
    [
        (["orders"], ["customers", "products"]),
        (["auth"], ["customers"]),
        (["dispatcher"], ["orders"]),
        (["gateway"], ["auth", "customers", "dispatcher", "orders", "products"]),
        (["gateway", "auth", "customers"], ["dispatcher", "orders", "products"]),
    ],
)
def test_a_service_this_process_needs_must_have_a_url(tmp_path: Path, services: list[str], missing: list[str]) -> None:
    cfg = make_config(tmp_path, bus={"kind": "kafka"})
    with pytest.raises(ConfigError) as refused:
        create_app(cfg, services)
    message = str(refused.value)
    for name in missing:
        assert f"[services.{name}] url is missing" in message
        assert f"SHOP_SERVICES__{name.upper()}__URL" in message
    assert message.count("url is missing") == len(missing)


def test_services_that_call_nobody_need_no_url(tmp_path: Path) -> None:
    for alone in (["products"], ["auth", "customers"], ["orders", "products", "dispatcher", "customers", "auth"]):
        plan_layout(make_config(tmp_path), alone)


def test_customers_alone_needs_auth_for_the_logins_of_its_customers(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[services.auth\] url is missing"):
        plan_layout(make_config(tmp_path), ["customers"])
    plan_layout(make_config(tmp_path, services=urls("auth")), ["customers"])


def test_orders_and_the_dispatcher_apart_need_kafka(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, services=urls("products", "orders", "customers"))
    with pytest.raises(ConfigError, match=r"\[bus\] kind must be \"kafka\" \(env SHOP_BUS__KIND=kafka"):
        plan_layout(cfg, ["orders"])
    with pytest.raises(ConfigError, match="SHOP_BUS__KIND"):
        plan_layout(cfg, ["dispatcher"])
    plan_layout(cfg.with_changes(bus={"kind": "kafka"}), ["orders"])
    plan_layout(cfg.with_changes(dispatcher={"enabled": False}), ["orders"])


def test_a_split_process_needs_the_shared_secrets_set(tmp_path: Path) -> None:
    cfg = make_config(tmp_path, auth={"jwt_secret": ""}, internal={"service_token": ""})
    with pytest.raises(ConfigError) as refused:
        plan_layout(cfg, ["products"])
    assert "SHOP_AUTH__JWT_SECRET" in str(refused.value) and "SHOP_INTERNAL__SERVICE_TOKEN" in str(refused.value)
    plan_layout(cfg)  # one process generates its own, in its data directory


def test_unknown_service_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown service billing"):
        plan_layout(make_config(tmp_path), ["auth", "billing"])


def test_a_url_for_no_service_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The configuration model cannot know the services' names (they import it): the layout,
    # which gets the declared services, refuses a url for one there is not.
    monkeypatch.setenv("SHOP_DATA__DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SHOP_SERVICES__BILLING__URL", "http://127.0.0.1:1")
    cfg = load_config(None)
    with pytest.raises(ConfigError) as refused:
        create_app(cfg)
    assert (
        "[services.billing] (env SHOP_SERVICES__BILLING__URL): unknown service billing; "
        "known: customers, products, auth, orders, dispatcher"
    ) in str(refused.value)
    assert not (tmp_path / "data").exists()  # refused before touching anything


async def test_a_services_process_serves_its_api_and_operations_but_no_storefront(make_api: MakeApi) -> None:
    api = await make_api(only=["products"])
    assert (await api.client.get("/api/products")).status == 200
    assert (await api.client.get("/health")).status == 200
    ready = await api.client.get("/ready")
    assert ready.status == 200 and set((await ready.json())["checks"]) == {"products"}
    assert (await api.client.get("/api/orders")).status == 404
    assert (await api.client.get("/")).status == 404
    assert (await api.client.get("/internal/orders/1")).status == 404


def test_run_py_names_the_missing_url_and_exits_2(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "SHOP_DATA__DIR": str(tmp_path / "data"),
        "SHOP_AUTH__JWT_SECRET": "s" * 40,
        "SHOP_INTERNAL__SERVICE_TOKEN": "t" * 40,
        "SHOP_BUS__KIND": "kafka",
    }
    result = subprocess.run(
        [sys.executable, "run.py", "--services", "orders,dispatcher"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "[services.products] url is missing (env SHOP_SERVICES__PRODUCTS__URL)" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # refused before touching anything

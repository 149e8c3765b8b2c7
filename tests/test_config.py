"""Configuration: config.toml, SHOP_<SECTION>__<KEY> overrides, and refusals naming the key."""

from __future__ import annotations

import os
import stat
import tomllib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from shop.app import create_app
from shop.config import ConfigError, ShopConfig, load_config
from tests.conftest import Api, make_config

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No SHOP_* variable of the machine running the tests leaks in; no stray config.toml."""
    for name in list(os.environ):
        if name.startswith("SHOP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shop.toml"
    path.write_text(text)
    return path


def test_the_repository_config_toml_is_the_defaults() -> None:
    # config.toml documents every setting with its working default: the two never drift.
    assert load_config(REPO / "config.toml") == ShopConfig()


def test_no_file_means_defaults() -> None:
    assert load_config(Path("config.toml")) == ShopConfig()


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")


def test_file_values_are_read(tmp_path: Path) -> None:
    cfg = load_config(write_toml(tmp_path, '[server]\nport = 7001\n[bus]\ntopic = "t"\n'))
    assert cfg.server.port == 7001 and cfg.bus.topic == "t"
    assert cfg.server.host == "127.0.0.1"  # the rest keeps its default


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml(tmp_path, '[server]\nport = 7001\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("SHOP_SERVER__PORT", "9123")
    cfg = load_config(path)
    assert cfg.server.port == 9123 and cfg.server.host == "0.0.0.0"


def test_environment_lists_are_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DISPATCHER__WEBHOOKS", '["http://127.0.0.1:9001/hook", "http://127.0.0.1:9002/ship"]')
    monkeypatch.setenv("SHOP_GATEWAY__CORS_ORIGINS", '["https://shop.example"]')
    cfg = load_config(Path("config.toml"))
    assert cfg.dispatcher.webhooks == ["http://127.0.0.1:9001/hook", "http://127.0.0.1:9002/ship"]
    assert cfg.gateway.cors_origins == ["https://shop.example"]


def test_environment_scalars_of_every_type(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SHOP_BUS__KIND", "kafka")
    monkeypatch.setenv("SHOP_BUS__BOOTSTRAP_SERVERS", "10.0.0.5:9092")
    monkeypatch.setenv("SHOP_DISPATCHER__ENABLED", "false")
    monkeypatch.setenv("SHOP_GATEWAY__RATE_LIMIT_PER_SECOND", "2.5")
    monkeypatch.setenv("SHOP_DATA__DIR", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("SHOP_AUTH__ADMIN_EMAIL", "boss@example.com")
    monkeypatch.setenv("SHOP_BUS__FETCH_MAX_WAIT_MS", "10")
    cfg = load_config(Path("config.toml"))
    assert cfg.bus.kind == "kafka" and cfg.bus.bootstrap_servers == "10.0.0.5:9092"
    assert cfg.dispatcher.enabled is False and cfg.gateway.rate_limit_per_second == 2.5
    assert cfg.data.dir == tmp_path / "elsewhere" and cfg.auth.admin_email == "boss@example.com"
    assert cfg.bus.fetch_max_wait_ms == 10


def test_environment_makes_a_service_remote(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SERVICES__CUSTOMERS__URL", "http://127.0.0.1:9002/")
    cfg = load_config(Path("config.toml"))
    assert cfg.remote_url("customers") == "http://127.0.0.1:9002"
    assert cfg.remote_url("products") is None


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("SHOP_SERVER__PORT", "abc", "server.port"),
        ("SHOP_SERVER__PORT", "70000", "server.port"),
        ("SHOP_AUTH__JWT_SECRET", "too-short", "auth.jwt_secret"),
        ("SHOP_GATEWAY__CORS_ORIGINS", '["*"]', "gateway.cors_origins"),
        ("SHOP_GATEWAY__CORS_ORIGINS", '["http://ok.example", "*"]', "gateway.cors_origins"),
        ("SHOP_GATEWAY__MAX_BODY_BYTES", "-1", "gateway.max_body_bytes"),
        ("SHOP_BUS__KIND", "rabbit", "bus.kind"),
        ("SHOP_BUS__FETCH_MAX_WAIT_MS", "0", "bus.fetch_max_wait_ms"),
        ("SHOP_BUS__FETCH_MAX_WAIT_MS", "60000", "bus.fetch_max_wait_ms"),
        ("SHOP_AUTH__TOKEN_TTL_SECONDS", "0", "auth.token_ttl_seconds"),
        ("SHOP_AUTH__ARGON2_TIME_COST", "0", "auth.argon2_time_cost"),
        ("SHOP_AUTH__ARGON2_MEMORY_KIB", "7", "auth.argon2_memory_kib"),
        ("SHOP_AUTH__ARGON2_PARALLELISM", "0", "auth.argon2_parallelism"),
        ("SHOP_SERVICES__CUSTOMERS__URL", "ftp://x", "services.customers.url"),
    ],
)
def test_a_bad_environment_value_names_the_key(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_config(Path("config.toml"))
    message = str(caught.value)
    assert key in message, message
    assert value not in message or "SECRET" not in variable  # a rejected secret is not echoed


def test_argon2_memory_must_give_each_lane_8_kib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_AUTH__ARGON2_PARALLELISM", "2")
    monkeypatch.setenv("SHOP_AUTH__ARGON2_MEMORY_KIB", "15")
    with pytest.raises(ConfigError, match=r"auth\.argon2_parallelism .*argon2_memory_kib"):
        load_config(Path("config.toml"))
    monkeypatch.setenv("SHOP_AUTH__ARGON2_MEMORY_KIB", "16")
    auth = load_config(Path("config.toml")).auth
    assert (auth.argon2_time_cost, auth.argon2_memory_kib, auth.argon2_parallelism) == (3, 16, 2)


def test_a_malformed_json_list_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_DISPATCHER__WEBHOOKS", "http://not-json")
    with pytest.raises(ConfigError, match=r"dispatcher\.webhooks \(env SHOP_DISPATCHER__WEBHOOKS\): must be JSON"):
        load_config(Path("config.toml"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[server]\nport = "abc"\n', "server.port"),
        ('[auth]\njwt_secret = "short"\n', "auth.jwt_secret"),
        ('[gateway]\ncors_origins = ["*"]\n', "gateway.cors_origins"),
        ("[server]\nprot = 80\n", "server.prot"),
        ("[nonsense]\nx = 1\n", "nonsense"),
    ],
)
def test_a_bad_file_value_names_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(write_toml(tmp_path, text))


def test_a_toml_syntax_error_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_config(write_toml(tmp_path, "[server\nport = 1\n"))


def test_the_config_model_itself_refuses_bad_values(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="jwt_secret"):
        make_config(tmp_path, auth={"jwt_secret": "x" * 31})
    with pytest.raises(ValueError, match="cors_origins"):
        make_config(tmp_path, gateway={"cors_origins": ["*"]})
    assert make_config(tmp_path, auth={"jwt_secret": "x" * 32}).auth.jwt_secret == "x" * 32


async def test_empty_secrets_are_generated_once_and_reused(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    cfg = make_config(data, auth={"jwt_secret": "", "admin_password": ""}, internal={"service_token": ""})

    first = Api(await aiohttp_client(create_app(cfg)))
    user = await first.register()
    await first.client.close()

    for name in ("jwt_secret", "admin_password", "service_token"):
        path = data / f".{name}"
        assert len(path.read_text().strip()) >= 32, name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name
    kept = (data / ".jwt_secret").read_text()
    admin_password = (data / ".admin_password").read_text().strip()

    second = Api(await aiohttp_client(create_app(cfg)))
    response = await second.client.get("/api/auth/me", headers=user.headers)
    assert response.status == 200  # a token from before the restart is still good
    assert (data / ".jwt_secret").read_text() == kept
    await second.login(cfg.auth.admin_email, admin_password)


async def test_a_configured_secret_is_used_and_nothing_is_generated(
    aiohttp_client: Callable[..., Awaitable[TestClient]], tmp_path: Path
) -> None:
    cfg = make_config(tmp_path / "data")
    api = Api(await aiohttp_client(create_app(cfg)))
    await api.register()
    assert not (tmp_path / "data" / ".jwt_secret").exists()
    assert not (tmp_path / "data" / ".admin_password").exists()


def test_the_readme_documents_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    start = readme.index("<!-- section: configuration -->")
    section = readme[start : readme.index("<!-- section:", start + 1)]
    for name, field in ShopConfig.model_fields.items():
        model = field.annotation
        if name == "services":
            assert "`SHOP_SERVICES__<NAME>__URL`" in section
            continue
        assert isinstance(model, type)
        for key in model.model_fields:  # type: ignore[attr-defined]
            assert f"| `{name}.{key}` |" in section and f"`SHOP_{name.upper()}__{key.upper()}`" in section, (
                f"README configuration table lacks {name}.{key}"
            )
    # ...with the defaults the code has (each default cell is a TOML value).
    defaults = ShopConfig().model_dump(mode="json")
    for row in section.splitlines():
        cells = [cell.strip().strip("`") for cell in row.strip("|").split("|")]
        if len(cells) == 4 and "." in cells[0] and not cells[0].startswith("services."):
            section_name, key = cells[0].split(".")
            documented, actual = tomllib.loads(f"v = {cells[1]}")["v"], defaults[section_name][key]
            if cells[0] == "data.dir":
                documented, actual = Path(documented), Path(actual)
            assert documented == actual, row


def test_a_short_admin_password_is_refused_without_echoing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_AUTH__ADMIN_PASSWORD", "s3cret")
    with pytest.raises(ConfigError) as caught:
        load_config(None)
    assert "auth.admin_password" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_malformed_admin_email_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_AUTH__ADMIN_EMAIL", "not-an-email")
    with pytest.raises(ConfigError, match=r"auth\.admin_email"):
        load_config(None)


def test_a_mistyped_variable_is_refused_not_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SERVER_PORT", "9000")  # one underscore: names nothing
    with pytest.raises(ConfigError, match="SHOP_SERVER_PORT"):
        load_config(None)


def test_remote_service_variables_and_test_variables_are_not_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_SERVICES__PRODUCTS__URL", "http://127.0.0.1:9")
    monkeypatch.setenv("SHOP_TEST_KAFKA", "127.0.0.1:9092")
    assert load_config(None).remote_url("products") == "http://127.0.0.1:9"

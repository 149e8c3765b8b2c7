"""The shop's settings: one validated model, loaded once at start-up and passed down.

Nothing else in the code base reads files or the environment for configuration.
Precedence: environment (`SHOP_<SECTION>__<KEY>`) over `config.toml` over the defaults here.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from shop.validation import Email


def _strong_or_empty(value: str) -> str:
    if value and len(value) < 32:
        raise ValueError("must be at least 32 characters (or empty to generate one)")
    return value


# A shared secret: empty means generate one and keep it in the data directory.
SecretSetting = Annotated[str, AfterValidator(_strong_or_empty)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerConfig(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class DataConfig(Section):
    dir: Path = Path("./data")
    # "full": a write is answered only once it is on disk (survives power loss).
    # "normal": survives a crash of the shop, but a power cut may lose the last commits.
    synchronous: Literal["full", "normal"] = "full"


class AuthConfig(Section):
    # Empty means: generate a strong secret once and keep it in the data directory.
    jwt_secret: SecretSetting = ""
    issuer: str = "shop"
    token_ttl_seconds: int = Field(3600, ge=60, le=30 * 24 * 3600)
    # How long a password reset token (sent by auth.password_reset_requested) can be used.
    reset_token_ttl_seconds: int = Field(1800, ge=60, le=7 * 24 * 3600)
    admin_email: Email = "admin@shop.local"
    # Empty: generated once and kept in the data directory. Never echoed in errors.
    admin_password: str = Field("", repr=False)
    # The argon2id cost of new password hashes; the defaults are RFC 9106's second
    # recommendation (t=3, 64 MiB, p=4). A hash stored with other parameters is replaced at
    # its user's next login. The bounds are argon2's own.
    argon2_time_cost: int = Field(3, ge=1, le=2**32 - 1)
    argon2_memory_kib: int = Field(64 * 1024, ge=8, le=2**32 - 1)
    argon2_parallelism: int = Field(4, ge=1, le=2**24 - 1)

    @field_validator("admin_password")
    @classmethod
    def _admin_password_is_usable(cls, value: str) -> str:
        if value and len(value) < 8:
            raise ValueError("must be at least 8 characters (or empty to generate one)")
        return value

    @field_validator("argon2_parallelism")
    @classmethod
    def _lanes_fit_the_memory(cls, value: int, info: ValidationInfo) -> int:
        memory = info.data.get("argon2_memory_kib")  # absent when it was refused itself
        if memory is not None and memory < 8 * value:
            raise ValueError(
                f"argon2 needs 8 KiB per lane: at most {memory // 8} lanes with argon2_memory_kib = {memory}"
            )
        return value


class GatewayConfig(Section):
    cors_origins: list[str] = ["http://127.0.0.1:8080", "http://localhost:8080"]
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    rate_limit_per_second: float = Field(50.0, gt=0)
    rate_limit_burst: int = Field(100, ge=1)
    auth_rate_limit_per_minute: int = Field(20, ge=1)
    # Forwarding to remote services: how long a remote may take before the gateway gives up.
    upstream_timeout_seconds: float = Field(10.0, gt=0)
    # ...and how long establishing a connection may take (a host that is gone answers nothing).
    upstream_connect_timeout_seconds: float = Field(3.0, gt=0)

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        # Credentials (the Authorization header) are allowed, so "*" would be unsafe.
        if "*" in value:
            raise ValueError('"*" is not allowed: list the origins')
        return value


class BusConfig(Section):
    kind: Literal["memory", "kafka"] = "memory"
    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = "order-events"
    # Off by default: some Kafka-protocol brokers (tansu) reject InitProducerId.
    enable_idempotence: bool = False
    client_id: str = "shop"
    # Bounds a publish (and a connect) while the broker is down: BusUnavailable, not a hang.
    request_timeout_ms: int = Field(10_000, ge=100)
    # Kafka brokers refuse less than their group.min.session.timeout.ms (6000 by default);
    # tansu holds a group join for half of it, so it is also the consumer's start-up delay.
    session_timeout_ms: int = Field(10_000, ge=1000)
    # A handler that raises gets the event again after this, doubling per attempt (max 5 s)...
    retry_backoff_ms: int = Field(100, ge=0)
    # ...up to this many deliveries in all; then the event is parked and consumption moves on.
    max_deliveries: int = Field(5, ge=1)
    # How long the broker may hold a consumer's fetch while it has nothing new. Kafka answers
    # as soon as a record arrives, so there this only paces idle polling; a broker that holds
    # every fetch for the whole wait (tansu) adds it to each event's latency. Lower: faster
    # delivery, more fetch requests. 0 would poll in a tight loop; more than 30 s would outlast
    # aiokafka's consumer request timeout (40 s).
    fetch_max_wait_ms: int = Field(500, ge=1, le=30_000)
    # false holds committed events in the outbox (maintenance; crash tests). They are
    # published when a process with the relay enabled starts.
    relay_enabled: bool = True


class DispatcherConfig(Section):
    enabled: bool = True
    webhooks: list[str] = []
    # Empty: generated once and kept in the data directory (share it with the receivers).
    webhook_secret: str = Field("", repr=False)
    max_attempts: int = Field(5, ge=1)
    retry_base_seconds: float = Field(0.5, ge=0)
    request_timeout_seconds: float = Field(5.0, gt=0)
    # An order still Created after this long is reported (metric, /ready, timeline, admin page).
    stuck_after_seconds: float = Field(300.0, gt=0)


DAY = 24 * 3600


class RetentionConfig(Section):
    """How long finished bookkeeping is kept before the background pruner deletes it."""

    # A retried POST /api/orders with the same Idempotency-Key returns the same order for at
    # least this long; clients are promised 24 hours, so less is refused.
    idempotency_keys_seconds: int = Field(DAY, ge=DAY)
    # A redelivered event is recognised (and ignored) for this long: keep it at least as long
    # as the bus can redeliver (Kafka's retention, 7 days by default).
    handled_events_seconds: int = Field(7 * DAY, ge=3600)
    # Outbox rows once the bus acknowledged them (kept a while to look into what was sent).
    published_outbox_seconds: int = Field(DAY, ge=60)
    # Delivered webhooks and dispatched orders' bookkeeping; failed deliveries are kept.
    finished_deliveries_seconds: int = Field(7 * DAY, ge=60)
    # Stock reservations given back (a cancelled order) or settled (a dispatched one), kept so
    # a late retry of the same reservation reserves nothing again (retries come within seconds).
    released_reservations_seconds: int = Field(DAY, ge=3600)
    # How often the pruner looks, and how many rows one write deletes (one short transaction
    # each, so a request waits at most one batch).
    interval_seconds: float = Field(60.0, gt=0)
    batch_size: int = Field(500, ge=1, le=10_000)


class NotificationsConfig(Section):
    # Receivers of notifications that are not about an order (auth.password_reset_requested:
    # an e-mail sender, usually), delivered like the dispatcher's order webhooks: signed with
    # [dispatcher] webhook_secret, logged, retried, retried again by an admin.
    webhooks: list[str] = []


class InternalConfig(Section):
    # The credential services present to each other in a split deployment. Empty: generated
    # once and kept in the data directory (fine on one machine; set it for several).
    service_token: SecretSetting = ""


class RemoteService(Section):
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")


class ShopConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    server: ServerConfig = ServerConfig()
    data: DataConfig = DataConfig()
    auth: AuthConfig = AuthConfig()
    gateway: GatewayConfig = GatewayConfig()
    bus: BusConfig = BusConfig()
    dispatcher: DispatcherConfig = DispatcherConfig()
    notifications: NotificationsConfig = NotificationsConfig()
    retention: RetentionConfig = RetentionConfig()
    internal: InternalConfig = InternalConfig()
    # Where services run in other processes, by name. The services import this model, so it
    # cannot know their names: shop.layout refuses a name that is no service.
    services: dict[str, RemoteService] = {}

    def remote_url(self, service: str) -> str | None:
        remote = self.services.get(service)
        return remote.url if remote else None

    def with_changes(self, **sections: dict[str, object]) -> ShopConfig:
        """A copy with some keys of some sections replaced (tests and tools use this)."""
        data = self.model_dump()
        for name, changes in sections.items():
            if isinstance(data.get(name), dict):
                data[name] = {**data[name], **changes}
            else:
                data[name] = changes
        return ShopConfig.model_validate(data)


class ConfigError(Exception):
    """Configuration that cannot start the shop; the message names the offending key."""


def load_config(path: Path | None = Path("config.toml")) -> ShopConfig:
    """Read `path` (if it exists) and the `SHOP_*` environment into a validated ShopConfig."""
    toml_file = path if path is not None and path.exists() else None
    if path is not None and toml_file is None and path != Path("config.toml"):
        raise ConfigError(f"configuration file {path} does not exist")

    class _Settings(ShopConfig, BaseSettings):
        model_config = SettingsConfigDict(
            env_prefix="SHOP_",
            env_nested_delimiter="__",
            toml_file=toml_file,
            extra="forbid",
            frozen=True,
        )

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))

    unknown = _unknown_variables(os.environ)
    if unknown:
        raise ConfigError(
            "invalid configuration:\n"
            + "\n".join(
                f"  {variable}: no such setting (SHOP_<SECTION>__<KEY>, two underscores)" for variable in unknown
            )
        )
    try:
        settings = _Settings()
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except ValueError as exc:  # e.g. an environment value that is not valid JSON
        not_json = _variables_not_json(os.environ)
        if not_json:
            raise ConfigError(
                "invalid configuration:\n"
                + "\n".join(f'  {key} (env {variable}): must be JSON, e.g. ["a", "b"]' for key, variable in not_json)
            ) from None
        raise ConfigError(f"invalid configuration: {exc}") from None
    return ShopConfig.model_validate(settings.model_dump())


def _unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """SHOP_* variables that name no setting: a typo (SHOP_SERVER_PORT) must not be ignored
    silently. SHOP_TEST_* belongs to the test suite, not to the shop."""
    unknown = []
    for variable in sorted(environ):
        if not variable.upper().startswith("SHOP_") or variable.upper().startswith("SHOP_TEST_"):
            continue
        section, _, key = variable[len("SHOP_") :].lower().partition("__")
        field = ShopConfig.model_fields.get(section)
        model = field.annotation if field is not None else None
        if section == "services":
            known = bool(key)  # SHOP_SERVICES__<NAME>__URL: the model checks the key, shop.layout the name
        else:
            known = isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields
        if not known:
            unknown.append(variable)
    return unknown


def _variables_not_json(environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """(key, variable) for each list setting whose variable is not JSON: pydantic-settings
    names only the section in that case, and the message must name the key."""
    found = []
    for variable, value in sorted(environ.items()):
        if not variable.upper().startswith("SHOP_"):
            continue
        section, _, key = variable[len("SHOP_") :].lower().partition("__")
        field = ShopConfig.model_fields.get(section)
        model = field.annotation if field is not None else None
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or key not in model.model_fields:
            continue
        if get_origin(model.model_fields[key].annotation) not in (list, dict):
            continue
        try:
            json.loads(value)
        except ValueError:
            found.append((f"{section}.{key}", variable))
    return found


def describe_validation_error(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        env = "SHOP_" + "__".join(str(part).upper() for part in error["loc"])
        lines.append(f"  {key} (env {env}): {error['msg']}")
    return "invalid configuration:\n" + "\n".join(lines)

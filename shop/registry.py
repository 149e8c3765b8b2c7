"""The service registry: every service name resolves to an in-process client or to a
remote HTTP client with the same interface, from configuration.

A service package defines its client protocol, a local implementation (direct calls, never
a loop through HTTP) and a remote one (HTTP to the service's /internal routes, carrying the
service credential). The registry holds whichever one configuration chose, and tracks each
service's health so calls to a service known to be down fail fast.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import aiohttp

from shop import errors
from shop.clock import utc_now

log = logging.getLogger("shop.registry")

T = TypeVar("T")

SERVICE_TOKEN_HEADER = "X-Service-Token"


@dataclass(frozen=True)
class ServiceKey(Generic[T]):
    """A typed handle for one service's client, like web.AppKey for app state."""

    name: str
    remote_factory: Callable[[RemoteEndpoint], T]


@dataclass
class ServiceEntry:
    name: str
    location: str  # "local" or the base URL
    client: Any
    probe: Callable[[], Awaitable[bool]]
    endpoint: RemoteEndpoint | None = None  # set for a remote service
    healthy: bool = True
    checked_at: str = field(default_factory=utc_now)


class Registry:
    def __init__(self, service_token: str, request_timeout: float = 10.0) -> None:
        self.service_token = service_token
        self.request_timeout = request_timeout
        self._entries: dict[str, ServiceEntry] = {}
        self._session: aiohttp.ClientSession | None = None

    # -- wiring ---------------------------------------------------------------------------

    def register_local(self, key: ServiceKey[T], client: T, probe: Callable[[], Awaitable[bool]]) -> None:
        self._entries[key.name] = ServiceEntry(key.name, "local", client, probe)

    def register_remote(self, key: ServiceKey[T], url: str) -> None:
        endpoint = RemoteEndpoint(self, key.name, url.rstrip("/"))
        self._entries[key.name] = ServiceEntry(
            key.name, endpoint.base_url, key.remote_factory(endpoint), endpoint.ping, endpoint
        )

    def get(self, key: ServiceKey[T]) -> T:
        try:
            entry = self._entries[key.name]
        except KeyError:
            raise RuntimeError(f"service {key.name!r} is neither run here nor configured remote") from None
        return entry.client  # type: ignore[no-any-return]  # entries of any key share one dict; key.name matched

    def has(self, name: str) -> bool:
        return name in self._entries

    def endpoint(self, name: str) -> RemoteEndpoint:
        """The HTTP endpoint of a service registered remote (the gateway forwards to it)."""
        entry = self._entries.get(name)
        if entry is None or entry.endpoint is None:
            raise RuntimeError(f"service {name!r} is not registered remote")
        return entry.endpoint

    def is_healthy(self, name: str) -> bool:
        entry = self._entries.get(name)
        return entry is not None and entry.healthy

    def entries(self) -> list[ServiceEntry]:
        return [self._entries[name] for name in sorted(self._entries)]

    def is_local(self, name: str) -> bool:
        entry = self._entries.get(name)
        return entry is not None and entry.location == "local"

    # -- remote plumbing ------------------------------------------------------------------

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.request_timeout))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise errors.ServiceUnavailable("The shop is starting or stopping.")
        return self._session

    def mark(self, name: str, healthy: bool) -> None:
        entry = self._entries.get(name)
        if entry is not None:
            if entry.healthy != healthy:
                log.warning("service health changed", extra={"service": name, "healthy": healthy})
            entry.healthy = healthy
            entry.checked_at = utc_now()

    async def check_all(self) -> None:
        async def check(entry: ServiceEntry) -> None:
            try:
                healthy = await entry.probe()
            except Exception:  # a probe that raises says the service is not usable
                healthy = False
            self.mark(entry.name, healthy)

        await asyncio.gather(*(check(entry) for entry in self._entries.values()))

    async def watch(self, interval: float) -> None:
        """Background task: keep every entry's health current."""
        while True:
            await asyncio.sleep(interval)
            await self.check_all()


# How the statuses of a remote service's problem documents map back to domain errors, so a
# remote call fails exactly as the local one would.
_ERROR_BY_STATUS: dict[int, type[errors.ShopError]] = {
    400: errors.BadRequest,
    401: errors.ServiceUnavailable,  # our own credential was refused: a deployment fault
    403: errors.ServiceUnavailable,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.PayloadTooLarge,
    422: errors.ValidationFailed,
}

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})


class RemoteEndpoint:
    """HTTP calls to one remote service's internal routes."""

    def __init__(self, registry: Registry, name: str, base_url: str) -> None:
        self.registry = registry
        self.name = name
        self.base_url = base_url

    async def ping(self) -> bool:
        """Up, and accepting our credential: a remote with another service token answers
        401 here, so a misconfigured deployment shows as unhealthy in /ready."""
        try:
            async with self.registry.session.get(
                f"{self.base_url}/health",
                headers={SERVICE_TOKEN_HEADER: self.registry.service_token},
                timeout=aiohttp.ClientTimeout(total=2),
            ) as response:
                return response.status == 200
        except (TimeoutError, aiohttp.ClientError, errors.ServiceUnavailable):
            return False

    async def ensure_available(self) -> None:
        """Fail fast while the service is known to be down, but let a request find out
        whether it came back (the background watcher does the same every few seconds)."""
        if not self.registry.is_healthy(self.name):
            if not await self.ping():
                raise errors.ServiceUnavailable(f"The {self.name} service is unavailable.")
            self.registry.mark(self.name, True)

    def mark_down(self) -> None:
        self.registry.mark(self.name, False)

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        """Call `path` on the remote; return the decoded JSON body (None for 204).

        Fails fast while the service is known to be down; retries once only when the
        method is idempotent, since a lost answer to a POST may mean it was done.
        """
        await self.ensure_available()
        attempts = 2 if method in _IDEMPOTENT else 1
        send_headers = {SERVICE_TOKEN_HEADER: self.registry.service_token, **(headers or {})}
        for attempt in range(1, attempts + 1):
            try:
                async with self.registry.session.request(
                    method, f"{self.base_url}{path}", json=json, params=params, headers=send_headers
                ) as response:
                    body = await response.json(content_type=None) if response.status != 204 else None
                    status = response.status
            except TimeoutError:
                if attempt < attempts:
                    continue
                raise errors.UpstreamTimeout(f"The {self.name} service did not answer in time.") from None
            except aiohttp.ClientConnectionError as exc:
                # aiohttp itself sends an idempotent request once more when the connection
                # drops (RFC 9112 9.3.1); only a refused connection is tried again here.
                if attempt < attempts and isinstance(exc, aiohttp.ClientConnectorError):
                    continue
                self.mark_down()
                raise errors.ServiceUnavailable(f"The {self.name} service is unavailable.") from None
            except (aiohttp.ClientError, ValueError):
                raise errors.BadGateway(f"The {self.name} service gave an invalid answer.") from None
            return _result_or_raise(self.name, status, body)
        raise AssertionError("unreachable")


def _result_or_raise(name: str, status: int, body: Any) -> Any:
    if status < 400:
        return body
    detail = body.get("detail") if isinstance(body, dict) else None
    error_cls = _ERROR_BY_STATUS.get(status)
    if error_cls is None:
        if status == 503:
            raise errors.ServiceUnavailable(detail or f"The {name} service is unavailable.")
        raise errors.BadGateway(f"The {name} service failed ({status}).")
    if error_cls is errors.ValidationFailed:
        field_errors = [
            errors.FieldError(tuple(e.get("loc", ())), str(e.get("msg", "")))
            for e in (body.get("errors") or [] if isinstance(body, dict) else [])
        ]
        raise errors.ValidationFailed(detail or "Validation failed.", field_errors)
    if error_cls is errors.ServiceUnavailable:
        log.error("remote refused our service credential", extra={"service": name, "status": status})
        raise errors.ServiceUnavailable(f"The {name} service refused this shop's credential.")
    raise error_cls(detail or f"The {name} service answered {status}.")

"""Forwarding the public routes of services that run in another process (split deployment).

For each remote service the gateway mounts, at /api/<name>, the service's own public route
table with every handler replaced by one that forwards the request to the service's process.
So the gateway answers 404 and 405 exactly where the service would, serves CORS preflights
itself, documents the same operations, and can reach nothing on the remote but its public
routes: /internal is never forwarded.

The request passes the gateway's middleware first (request id, body limits, JWT, rate
limit), then goes upstream with the service credential and the client's address, its body
streamed. The answer is streamed back; Server-Sent Events without any read timeout, since
a quiet stream is a healthy one. A remote that refuses the connection gives 503 (and is
marked down, so the next requests fail fast), one that does not answer in time 504, one
that answers nonsense 502: problem documents all, never a hang.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from shop.config import GatewayConfig
from shop.errors import BadGateway, NotFound, PayloadTooLarge, ServiceUnavailable, UpstreamTimeout
from shop.gateway.context import request_id
from shop.gateway.cors import enable_cors
from shop.gateway.forwarded import FORWARDED_FOR_HEADER, client_address
from shop.registry import SERVICE_TOKEN_HEADER, Registry, RemoteEndpoint

log = logging.getLogger("shop.proxy")

# What a client may tell the service; everything else (cookies, a client's own
# X-Service-Token or X-Forwarded-For, Host) stays at the gateway.
PASSED_REQUEST_HEADERS = (
    "Accept",
    "Authorization",
    "Content-Type",
    "Content-Length",
    "Idempotency-Key",
    "Last-Event-ID",
)
# Per-connection headers (RFC 9110 7.6.1), and the ones the gateway sets itself on every
# response (request id, CORS, rate limit, its own Date and Server).
_DROPPED_RESPONSE_HEADERS = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Proxy-Authenticate",
        "Proxy-Connection",
        "TE",
        "Trailer",
        "Transfer-Encoding",
        "Upgrade",
        "Content-Length",
        "Date",
        "Server",
        "X-Request-ID",
    )
)
_DROPPED_RESPONSE_PREFIXES = ("access-control-", "ratelimit-")
EVENT_STREAM = "text/event-stream"


class Forwarder:
    """Sends requests on to remote services and their answers back, for one gateway."""

    def __init__(self, registry: Registry, cfg: GatewayConfig) -> None:
        self.registry = registry
        self.cfg = cfg
        self._session: aiohttp.ClientSession | None = None
        # Open event streams, so a shutdown can end them instead of waiting for clients.
        self._streams: set[aiohttp.ClientResponse] = set()
        self._closing = False
        # Connecting has its own bound; the answer's headers are bounded in _send and a
        # plain body per read in _copy. Event streams have no read bound at all.
        self._timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=cfg.upstream_connect_timeout_seconds, sock_read=None
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        # limit=0: every open event stream holds a connection, and a pool limit would make
        # other requests queue behind them.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0),
            auto_decompress=False,  # bytes pass through as the service sent them
            skip_auto_headers=("Accept-Encoding", "User-Agent"),
        )
        yield
        await self._session.close()
        self._session = None

    async def end_streams(self, app: web.Application) -> None:
        """on_shutdown: end forwarded event streams, so the server need not wait for them."""
        self._closing = True
        for upstream in list(self._streams):
            upstream.close()

    # -- routes ---------------------------------------------------------------------------

    def service_app(
        self, service: str, routes: Iterable[web.AbstractRouteDef], cors_origins: list[str]
    ) -> web.Application:
        """A sub-app with `service`'s public routes, each forwarding to the remote."""
        forwarding: dict[Any, Callable[[web.Request], Any]] = {}  # service handler -> forwarder

        def forwarder_for(handler: Any) -> Callable[[web.Request], Any]:
            async def forward(request: web.Request) -> web.StreamResponse:
                return await self.forward(request, service)

            # The service's handler name and OpenAPI description: the gateway documents what
            # the service serves. One per handler, as in the service (PUT and PATCH share one).
            return functools.update_wrapper(forward, handler)

        app = web.Application()
        for route in routes:
            if not isinstance(route, web.RouteDef):
                raise TypeError(f"{service}: only plain routes can be forwarded, not {route!r}")
            if route.handler not in forwarding:
                forwarding[route.handler] = forwarder_for(route.handler)
            handler = forwarding[route.handler]
            app.add_routes([web.RouteDef(route.method, route.path, handler, route.kwargs)])
        enable_cors(app, cors_origins)
        return app

    # -- one request ----------------------------------------------------------------------

    async def forward(self, request: web.Request, service: str) -> web.StreamResponse:
        _refuse_path_tricks(request)
        endpoint = self.registry.endpoint(service)
        await endpoint.ensure_available()
        upstream = await self._send(request, endpoint)
        try:
            return await self._relay(request, upstream, service)
        finally:
            upstream.close()  # a no-op once the whole answer was read: the connection is reused

    async def _send(self, request: web.Request, endpoint: RemoteEndpoint) -> aiohttp.ClientResponse:
        url = URL(endpoint.base_url + request.rel_url.raw_path_qs, encoded=True)
        headers = self._upstream_headers(request)
        body = _LimitedBody(request, self.cfg.max_body_bytes) if request.body_exists else None
        # No retry of our own: aiohttp sends an idempotent request once more when a reused
        # connection turns out closed (RFC 9112 9.3.1), and nothing else is safe to repeat.
        try:
            async with asyncio.timeout(self.cfg.upstream_timeout_seconds):
                return await self.session.request(
                    request.method,
                    url,
                    headers=headers,
                    data=body.chunks() if body is not None else None,
                    allow_redirects=False,
                    timeout=self._timeout,
                )
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError):
            # Refused, unreachable, or no connection in time: down, as far as we can tell.
            endpoint.mark_down()
            log.warning(
                "remote service unreachable", extra={"service": endpoint.name, "request_id": request_id(request)}
            )
            raise ServiceUnavailable(f"The {endpoint.name} service is unavailable.") from None
        except aiohttp.ClientConnectionError:
            if body is not None and body.too_large:
                raise PayloadTooLarge(f"The request body is larger than {self.cfg.max_body_bytes} bytes.") from None
            raise BadGateway(f"The {endpoint.name} service closed the connection without an answer.") from None
        except TimeoutError:
            log.warning("remote service timed out", extra={"service": endpoint.name, "request_id": request_id(request)})
            raise UpstreamTimeout(f"The {endpoint.name} service did not answer in time.") from None
        except aiohttp.ClientError:
            raise BadGateway(f"The {endpoint.name} service gave an invalid answer.") from None

    def _upstream_headers(self, request: web.Request) -> CIMultiDict[str]:
        headers: CIMultiDict[str] = CIMultiDict(
            (name, value) for name in PASSED_REQUEST_HEADERS for value in request.headers.getall(name, ())
        )
        headers[SERVICE_TOKEN_HEADER] = self.registry.service_token
        headers["X-Request-ID"] = request_id(request)
        # Replaced, never appended to: only the gateway's own view of the client counts.
        address = client_address(request)
        if address:
            headers[FORWARDED_FOR_HEADER] = address
        return headers

    async def _relay(self, request: web.Request, upstream: aiohttp.ClientResponse, service: str) -> web.StreamResponse:
        response = web.StreamResponse(status=upstream.status, reason=upstream.reason)
        for name, value in upstream.headers.items():
            lower = name.lower()
            if lower not in _DROPPED_RESPONSE_HEADERS and not lower.startswith(_DROPPED_RESPONSE_PREFIXES):
                response.headers.add(name, value)
        events = upstream.content_type == EVENT_STREAM
        if upstream.content_length is not None and not events:
            response.content_length = upstream.content_length
        await response.prepare(request)
        if events:
            self._streams.add(upstream)
        try:
            await self._copy(upstream, response, None if events else self.cfg.upstream_timeout_seconds)
        except ConnectionResetError:
            pass  # the client went away; closing the upstream ends the remote's stream too
        except (aiohttp.ClientError, TimeoutError) as exc:
            if not (events and self._closing):
                # Too late for a problem document: cut the client's connection, so it sees
                # an incomplete answer rather than a complete-looking truncated one.
                log.warning(
                    "remote service failed mid-answer",
                    extra={"service": service, "request_id": request_id(request), "error": type(exc).__name__},
                )
                if request.transport is not None:
                    request.transport.close()
        finally:
            self._streams.discard(upstream)
        return response

    @staticmethod
    async def _copy(upstream: aiohttp.ClientResponse, response: web.StreamResponse, read_timeout: float | None) -> None:
        while True:
            async with asyncio.timeout(read_timeout):
                chunk = await upstream.content.readany()
            if not chunk:
                return
            await response.write(chunk)  # at once: an event reaches the client as it happens

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise ServiceUnavailable("The shop is starting or stopping.")
        return self._session


class _LimitedBody:
    """The client's body, streamed upstream, up to the gateway's limit. A body without
    Content-Length (chunked) is only measured here; the middleware checked the others."""

    def __init__(self, request: web.Request, limit: int) -> None:
        self._request = request
        self._limit = limit
        self.too_large = False

    async def chunks(self) -> AsyncIterator[bytes]:
        size = 0
        async for chunk in self._request.content.iter_any():
            size += len(chunk)
            if size > self._limit:
                self.too_large = True
                # Aborts the upstream request, so the remote never sees a truncated body.
                raise PayloadTooLarge(f"The request body is larger than {self._limit} bytes.")
            yield chunk


def _refuse_path_tricks(request: web.Request) -> None:
    """No dot segments and no encoded slashes: what is forwarded is the path the gateway
    matched, segment for segment, and nothing a server or URL library could read as a way
    out of /api/<service>/."""
    raw = request.rel_url.raw_path.split("/")
    decoded = request.path.split("/")
    if len(raw) != len(decoded) or any(segment in (".", "..") for segment in decoded):
        raise NotFound("No such resource.")

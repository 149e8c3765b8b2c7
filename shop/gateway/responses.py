"""The root app's one response hook (on_response_prepare): it runs for every response as its
headers are sent, streamed ones (SSE) included.

One hook rather than one per concern: aiohttp awaits each hook of each app the request went
through, a coroutine apiece, for every response. Here the gateway's headers are set, the
CORS headers only for a request with an Origin, and whatever else the process serves asks
for (the storefront's revalidation), as plain calls."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import hdrs, web

from shop.gateway.access import set_gateway_headers
from shop.gateway.cors import CorsHeaders

ResponseHeaders = Callable[[web.Request, web.StreamResponse], None]


def response_hook(
    cors_origins: Sequence[str], also: Sequence[ResponseHeaders] = ()
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    cors = CorsHeaders(cors_origins)

    async def prepare(request: web.Request, response: web.StreamResponse) -> None:
        set_gateway_headers(request, response)
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is not None:
            await cors.add(request, response, origin)
        for headers in also:
            headers(request, response)

    return prepare

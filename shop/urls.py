"""Absolute URLs for the shop's own files, on the origin the client called.

The shop stores its own images as paths (`/static/products/laptop.svg`), which a page served
from elsewhere (the original Angular UI on its own port) resolves against its own host and
cannot load. Answers name the shop's origin instead; URLs that already name a host are left
as they are.
"""

from __future__ import annotations

from aiohttp import web


def request_origin(request: web.Request) -> str:
    """`scheme://host[:port]` as the client addressed the shop (its Host header)."""
    return f"{request.scheme}://{request.host}"


def absolute_url(url: str, origin: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return origin + url
    return url

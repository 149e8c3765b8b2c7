"""Serving the storefront: GET / returns index.html with a Content-Security-Policy that allows
only this origin (no inline scripts, nothing from a CDN). The assets themselves are served by
the root app's `/static` route."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from shop.openapi import operation

WEB_DIR = Path(__file__).parent
INDEX = WEB_DIR / "index.html"

# Everything from this origin only; no inline script or style, no plugins, no framing, and
# forms and <base> cannot send the reader elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


@operation("The storefront page", hidden=True)
async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(
        INDEX,
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Content-Type": "text/html; charset=utf-8",
        },
    )


def revalidate(request: web.Request, response: web.StreamResponse) -> None:
    """The page and its modules are small and change with every release: the browser keeps
    them but asks again each time (a cheap 304 via ETag/Last-Modified), so a reader never
    runs a new index.html with stale modules. Called by the root's response hook
    (shop.gateway.responses)."""
    if request.path == "/" or request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-cache")


def add_storefront(app: web.Application) -> None:
    """GET /; the assets are the root app's /static route, and `revalidate` its headers."""
    app.router.add_get("/", index)

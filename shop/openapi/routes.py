"""GET /api/openapi.json, GET /api/docs and the page's assets: public, on the root app.

The page is Swagger UI from files vendored in static/ (no CDN), so it works offline. Asset
URLs carry a hash of the file's content, so browsers may keep them for a year and still get
a new file the moment it changes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from aiohttp import web

from shop.errors import NotFound
from shop.jsonutil import dumps
from shop.openapi.describe import Content, operation
from shop.openapi.document import build_document

SPEC_PATH = "/api/openapi.json"
DOCS_PATH = "/api/docs"
ASSETS_PATH = "/api/docs/assets"
STATIC_DIR = Path(__file__).parent / "static"

CACHE_IMMUTABLE = "public, max-age=31536000, immutable"  # the URL names this exact content
CACHE_REVALIDATE = "no-cache"  # an unversioned URL: keep, but ask (ETag) before reuse
# Swagger UI sets inline style attributes, hence 'unsafe-inline' for styles only; its icons
# are data: URIs. Scripts come only from this origin, and "Try it out" calls only this origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

JS = "text/javascript; charset=utf-8"
CSS = "text/css; charset=utf-8"
# URL name -> (file under static/, content type). Only these are served.
ASSET_FILES: dict[str, tuple[str, str]] = {
    "swagger-ui-bundle.js": ("swagger-ui/swagger-ui-bundle.js", JS),
    "swagger-ui.css": ("swagger-ui/swagger-ui.css", CSS),
    "favicon-32x32.png": ("swagger-ui/favicon-32x32.png", "image/png"),
    "docs.js": ("docs.js", JS),
    "docs.css": ("docs.css", CSS),
}
# Template placeholder in docs.html -> asset name.
PAGE_ASSETS = {
    "swagger_js": "swagger-ui-bundle.js",
    "swagger_css": "swagger-ui.css",
    "favicon": "favicon-32x32.png",
    "docs_js": "docs.js",
    "docs_css": "docs.css",
}


@dataclass(frozen=True)
class Asset:
    name: str
    path: Path
    content_type: str
    version: str  # a hash of the content

    @property
    def url(self) -> str:
        return f"{ASSETS_PATH}/{self.name}?v={self.version}"


class Docs:
    """One app's document, page and assets, each made once, on first use: the routers are
    frozen by then, and reading files stays off the event loop."""

    def __init__(self, static_dir: Path, service_prefixes: Sequence[str]) -> None:
        self.static_dir = static_dir
        self.service_prefixes = service_prefixes
        self.document: bytes | None = None
        self._assets: dict[str, Asset] | None = None
        self._page: bytes | None = None

    async def assets(self) -> dict[str, Asset]:
        if self._assets is None:
            self._assets = await asyncio.to_thread(load_assets, self.static_dir)
        return self._assets

    async def page(self) -> bytes:
        if self._page is None:
            assets = await self.assets()
            template = await asyncio.to_thread((self.static_dir / "docs.html").read_text, "utf-8")
            urls = {slot: assets[name].url for slot, name in PAGE_ASSETS.items()}
            self._page = Template(template).substitute(urls, spec_url=SPEC_PATH).encode()
        return self._page


def load_assets(static_dir: Path) -> dict[str, Asset]:
    assets = {}
    for name, (relative, content_type) in ASSET_FILES.items():
        path = static_dir / relative
        version = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
        assets[name] = Asset(name, path, content_type, version)
    return assets


DOCS = web.AppKey("openapi_docs", Docs)

routes = web.RouteTableDef()


@routes.get(SPEC_PATH)
@operation(
    "This OpenAPI document",
    description="Generated from the routes this process serves; internal routes are left out.",
    tags=["operations"],
    responses={200: Content({"type": "object"}, description="An OpenAPI 3.1 document.")},
)
async def openapi_document(request: web.Request) -> web.Response:
    docs = request.config_dict[DOCS]
    if docs.document is None:
        docs.document = dumps(build_document(request.app, docs.service_prefixes))
    return web.Response(body=docs.document, content_type="application/json")


@routes.get(DOCS_PATH)
@operation(
    "Interactive API documentation",
    description="Swagger UI showing this document, served from this process: it works offline.",
    tags=["operations"],
    responses={200: Content(media_type="text/html", description="The documentation page.")},
)
async def docs_page(request: web.Request) -> web.Response:
    page = await request.config_dict[DOCS].page()
    return web.Response(
        body=page,
        content_type="text/html",
        charset="utf-8",
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


@routes.get(ASSETS_PATH + "/{name}")
@operation("A file the documentation page loads", hidden=True, errors=[404])
async def docs_asset(request: web.Request) -> web.StreamResponse:
    assets = await request.config_dict[DOCS].assets()
    asset = assets.get(request.match_info["name"])
    if asset is None:
        raise NotFound("No such documentation asset.")
    cache = CACHE_IMMUTABLE if request.query.get("v") == asset.version else CACHE_REVALIDATE
    return web.FileResponse(asset.path, headers={"Content-Type": asset.content_type, "Cache-Control": cache})


def setup_docs(app: web.Application, service_prefixes: Sequence[str]) -> None:
    """Serve the document, the page and its assets. `app` is the root app: the document
    describes it and every service mounted in it, local or forwarded, under `service_prefixes`."""
    app[DOCS] = Docs(STATIC_DIR, service_prefixes)
    app.add_routes(routes)

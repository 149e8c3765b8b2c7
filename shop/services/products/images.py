"""Image URLs in catalogue answers are absolute, on the origin the client called.

The catalogue stores its own images as paths (`/static/products/laptop.svg`), which a page
served from elsewhere (the original Angular UI on its own port) resolves against its own host
and cannot load. Answers name the shop's origin instead; stored URLs that already name a host
are left as they are.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from shop.services.products.models import Product


def request_origin(request: web.Request) -> str:
    """`scheme://host[:port]` as the client addressed the shop (its Host header)."""
    return f"{request.scheme}://{request.host}"


def with_absolute_images(product: Product, origin: str) -> dict[str, Any]:
    data = product.model_dump(mode="json")
    data["images"] = [_absolute(url, origin) for url in data["images"]]
    return data


def _absolute(url: str, origin: str) -> str:
    if url.startswith("/") and not url.startswith("//"):
        return origin + url
    return url

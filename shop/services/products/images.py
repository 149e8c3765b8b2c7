"""Products are answered with absolute image URLs (shop/urls.py says why)."""

from __future__ import annotations

from typing import Any

from shop.services.products.models import Product
from shop.urls import absolute_url, request_origin

__all__ = ["request_origin", "with_absolute_images"]


def with_absolute_images(product: Product, origin: str) -> dict[str, Any]:
    data = product.model_dump(mode="json")
    data["images"] = [absolute_url(url, origin) for url in data["images"]]
    return data

"""`?limit=&offset=` paging for list endpoints, with X-Total-Count and an RFC 8288 Link."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

from shop.errors import FieldError, ValidationFailed
from shop.pathparams import MAX_ID

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_INTEGER = re.compile(r"-?[0-9]{1,20}")


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int

    @classmethod
    def from_request(cls, request: web.Request) -> Page:
        limit = _int_param(request, "limit", DEFAULT_LIMIT)
        offset = _int_param(request, "offset", 0)
        if offset < 0:
            raise ValidationFailed("offset must not be negative.", [FieldError(("query", "offset"), "must be >= 0")])
        return cls(limit=min(max(limit, 1), MAX_LIMIT), offset=offset)

    def headers(self, request: web.Request, total: int) -> dict[str, str]:
        links = []
        url = request.rel_url
        if self.offset + self.limit < total:
            links.append(_link(url, self.limit, self.offset + self.limit, "next"))
        if self.offset > 0:
            links.append(_link(url, self.limit, max(self.offset - self.limit, 0), "prev"))
        headers = {"X-Total-Count": str(total)}
        if links:
            headers["Link"] = ", ".join(links)
        return headers


def _link(url: URL, limit: int, offset: int, rel: str) -> str:
    target = url.update_query(limit=str(limit), offset=str(offset))
    return f'<{target}>; rel="{rel}"'


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    # ASCII digits only: int() would also take "١٢", "5_0" and " 3".
    if not _INTEGER.fullmatch(raw):
        raise ValidationFailed(f"{name} must be a whole number.", [FieldError(("query", name), "must be an integer")])
    value = int(raw)
    if abs(value) > MAX_ID:  # SQLite cannot bind it: an OverflowError, so a 500
        raise ValidationFailed(f"{name} is too large.", [FieldError(("query", name), "is too large")])
    return value

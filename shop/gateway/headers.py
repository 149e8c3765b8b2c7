"""Header values that are not UTF-8.

aiohttp decodes header values as UTF-8 with surrogate escapes, so a stray byte (`\\x93`)
arrives as a lone surrogate that fails later, wherever the value is encoded again: a JWT
library, a SQLite bind, a response header. One check at the door answers 400 instead,
before any of the shop's code reads a header. It looks at every header, not a list of the
ones read today, so a header read tomorrow is covered too; plain ASCII, the case of every
real client, costs one `isascii` per value.
"""

from __future__ import annotations

from aiohttp import web

from shop.errors import BadRequest

# Credentials have checks of their own that answer a bad one, undecodable included, with a
# 401 (shop/gateway/auth.py, forwarded.py): a wrong credential, not a malformed request.
CREDENTIALS = frozenset({"authorization", "x-service-token"})


def check_header_encoding(request: web.Request) -> None:
    for name, value in request.headers.items():
        if not value.isascii() and name.lower() not in CREDENTIALS:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                # The name is a token (ASCII) by aiohttp's parser, so it is safe to quote.
                raise BadRequest(f"The {name} header is not valid UTF-8.") from None

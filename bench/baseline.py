"""The baseline: the fastest thing aiohttp can do with one process — a bare app answering
every GET with one constant JSON product, encoded once. The shop's numbers are read as a
fraction of this, measured on the same machine in the same run, so they mean something on
any machine.

Same process model as the shop (run.py): one process, one event loop, `web.run_app`, no
access log. It uses uvloop when it is installed, as the fastest loop aiohttp can run on.

    python bench/baseline.py --port 9000
"""

from __future__ import annotations

import argparse
import json
import sys

from aiohttp import web

# Product 1 of the shop's seeded catalogue, as GET /api/products/1 returns it (925 bytes).
PRODUCT = {
    "id": 1,
    "name": "Laptop",
    "description": "A thin, all-day 14-inch laptop with a sharp 2.8K display, a quiet fanless design and a"
    " backlit keyboard for work on the move.",
    "price": 9998.0,
    "currency": "USD",
    "stock_quantity": 40,
    "category": "Computers",
    "brand": "Nimbus",
    "sku": "CMP-NIM-AERO14",
    "images": ["/static/products/laptop.svg"],
    "ratings": 4.6,
    "reviews": [
        {
            "user": "Priya S.",
            "rating": 5,
            "comment": "Light enough to forget it is in my bag, and the screen is gorgeous.",
        },
        {"user": "Tom B.", "rating": 4, "comment": "Fast and silent. I would have liked one more USB-C port."},
    ],
    "additional_info": "1-year limited manufacturer warranty. Free returns within 30 days of delivery.",
    "specifications": {
        "display": "14-inch 2880x1800 OLED",
        "processor": "8-core, 4.8 GHz",
        "memory": "16 GB",
        "storage": "1 TB SSD",
        "weight": "1.2 kg",
        "battery": "Up to 18 hours",
    },
    "model": "Aero 14 Pro",
    "created_at": "2026-01-01T00:00:00.000Z",
    "updated_at": "2026-01-01T00:00:00.000Z",
}
BODY = json.dumps(PRODUCT, separators=(",", ":")).encode()


async def constant(request: web.Request) -> web.Response:
    return web.Response(body=BODY, content_type="application/json")


def create_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/{tail:.*}", constant)
    return app


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    loop_factory = None
    if event_loop_name() == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
    web.run_app(
        create_app(),
        host=args.host,
        port=args.port,
        access_log=None,
        print=None,
        loop=loop_factory() if loop_factory else None,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

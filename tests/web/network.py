"""Two stand-ins on loopback for the order tests: a warehouse whose webhook answers only when
the test lets it (so a page can be watched while the order is still Created), and a TCP link
between the browser and the shop that the test can cut (a network drop)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web


class Warehouse:
    """The dispatcher's webhook target. Holds every call until `open` is set, then answers
    with `status` (503 plays a warehouse that is down)."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.status = 200
        self.order_ids: list[int] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> Warehouse:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hook"
        return self

    async def _hook(self, request: web.Request) -> web.Response:
        envelope = json.loads(await request.read())
        self.order_ids.append(envelope["data"]["id"])
        await self.open.wait()
        return web.Response(status=self.status)

    async def stop(self) -> None:
        self.open.set()  # release held calls so the server can stop
        if self._runner is not None:
            await self._runner.cleanup()


class Link:
    """A TCP relay to the shop. cut() drops every connection and refuses new ones until
    restore(), which is what a browser sees when the Wi-Fi goes away and comes back."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.down = False
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None
        self.url = ""

    async def start(self) -> Link:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.down:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        try:
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            self._pairs.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()

    def cut(self) -> None:
        self.down = True
        for browser_side, shop_side in list(self._pairs):
            browser_side.transport.abort()
            shop_side.transport.abort()

    def restore(self) -> None:
        self.down = False

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    # One side ended: end the other too (HTTP clients here never half-close on purpose).
    writer.transport.abort()

"""What the orders service does, apart from HTTP: place, cancel and dispatch orders, give
back stock that a crash or a cancellation left reserved, and settle the reservations of
dispatched orders."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Hashable

from shop.errors import Conflict, FieldError, NotFound, ShopError, Unauthorized, ValidationFailed
from shop.readcache import Answer, ReadCache
from shop.registry import Registry
from shop.services.customers.client import CUSTOMERS
from shop.services.orders.live import StatusBroadcaster
from shop.services.orders.models import Order, OrderCreate
from shop.services.orders.store import IdempotentHit, KeyTaken, NewOrder, OrderStore, PricedLine
from shop.services.products.client import PRODUCTS, StockLine

log = logging.getLogger("shop.orders")

# Dispatched orders' reservations settled with products in one call (its limit is 1000).
SETTLE_BATCH = 500


def request_hash(body: OrderCreate) -> str:
    """What makes two requests "the same body" for Idempotency-Key: the lines asked for
    (legacy fields the server ignores do not count)."""
    # json.dumps([[product_id, quantity], ...]) as it always was (stored keys compare with
    # it), written out directly: both are integers, and json.dumps cost more than the hash.
    lines = ", ".join(f"[{line.product_id}, {line.quantity}]" for line in body.items)
    return hashlib.sha256(f"[{lines}]".encode()).hexdigest()


class Orders:
    def __init__(
        self,
        store: OrderStore,
        registry: Registry,
        broadcaster: StatusBroadcaster,
        on_outbox_write: Callable[[], None],
    ) -> None:
        self.store = store
        self.registry = registry
        self.broadcaster = broadcaster
        self._on_outbox_write = on_outbox_write
        # Order lists as answered: dropped when an order changes or a product's name or
        # image may have (lines show the current ones).
        self.lists = ReadCache(self._lists_generation)
        # Serialises requests that share an Idempotency-Key in this process, so a double
        # click does not even reserve stock twice. The database's primary key is the guarantee.
        self._key_locks: dict[tuple[int, str], asyncio.Lock] = {}

    async def place(
        self, customer_id: int, body: OrderCreate, updated_by: str, idempotency_key: str | None
    ) -> tuple[Order, bool]:
        """Returns (order, created). A retry with the same key and body returns the first
        order and creates nothing; the same key with another body is a Conflict."""
        await self.require_customer(customer_id)
        if idempotency_key is None:
            return await self._place(customer_id, body, updated_by, None, None)
        lock_key = (customer_id, idempotency_key)
        lock = self._key_locks.setdefault(lock_key, asyncio.Lock())
        try:
            async with lock:
                digest = request_hash(body)
                try:
                    return await self._place(customer_id, body, updated_by, idempotency_key, digest)
                except KeyTaken:
                    # Another process placed an order with this key meanwhile.
                    hit = await self.store.idempotent_hit(customer_id, idempotency_key)
                    if hit is None:
                        raise
                    return await self._replayed(hit, digest), False
        finally:
            if not lock.locked():
                self._key_locks.pop(lock_key, None)

    async def require_customer(self, customer_id: int) -> None:
        """A token outlives its customer (deleted by an admin): no write is accepted for a
        customer who is gone, whatever the token says. Asked of customers, here or remote,
        unless auth runs in this process: a deletion removes the login first, which voids the
        customer's tokens here at once (shop/gateway/revocation.py), so this request's token
        was already refused; the question would cost every order a read for nothing."""
        if self.registry.is_local("auth"):
            return
        if not await self.registry.get(CUSTOMERS).exists(customer_id):
            raise Unauthorized("This account no longer exists.", token_sent=True)

    async def list_answer(self, key: Hashable, load: Callable[[], Awaitable[Answer]]) -> Answer:
        """An order list from the read cache, or `load`ed; never kept while the products'
        labels cannot be versioned (products in another process)."""
        if self.registry.get(PRODUCTS).labels_version() is None:
            return await load()
        return await self.lists.get(key, load)

    def _lists_generation(self) -> tuple[int, int | None]:
        return self.store.generation, self.registry.get(PRODUCTS).labels_version()

    async def _replayed(self, hit: IdempotentHit, digest: str) -> Order:
        if hit.request_hash != digest:
            raise Conflict("This Idempotency-Key was already used with a different body.")
        return await self.store.get(hit.order_id)

    async def _place(
        self, customer_id: int, body: OrderCreate, updated_by: str, key: str | None, digest: str | None
    ) -> tuple[Order, bool]:
        products = self.registry.get(PRODUCTS)
        lines = _merge_lines(body)
        reservation_id = uuid.uuid4().hex
        # One write finds an order this Idempotency-Key already made, or records the
        # reservation before products is asked, so stock reserved by a request that then
        # crashed is found and given back at the next start.
        hit = await self.store.begin_reservation(reservation_id, customer_id, key)
        if hit is not None:
            assert digest is not None  # a hit needs a key, and a key comes with its digest
            return await self._replayed(hit, digest), False
        try:
            reserved = await products.reserve(reservation_id, [StockLine(pid, qty) for pid, qty in lines.items()])
        except NotFound:
            await self.store.reservation_released(reservation_id)
            raise await self._unknown_products(body) from None
        except BaseException:
            # Out of stock: nothing was reserved. Unavailable or cancelled: maybe it was;
            # releasing an unknown reservation is a no-op, so give it back to be sure.
            await self._release_quietly(reservation_id)
            raise
        try:
            by_id = {product.id: product for product in reserved}
            currencies = {by_id[pid].currency for pid in lines}
            if len(currencies) != 1:
                raise ValidationFailed(
                    "All products of one order must be priced in the same currency.",
                    [FieldError(("items",), "mixed currencies")],
                )
            priced = [PricedLine(pid, by_id[pid].name, qty, by_id[pid].price_cents) for pid, qty in lines.items()]
            order = await self.store.create(
                NewOrder(customer_id, priced, currencies.pop(), reservation_id, updated_by, key, digest)
            )
        except BaseException:
            # A cancelled request's order may have been committed all the same (its unit had
            # started): the reservation goes back only if no order holds it.
            if await asyncio.shield(self.store.abandon_reservation(reservation_id)):
                await self._release_quietly(reservation_id)
            raise
        self._changed(order)
        log.info("order placed", extra={"order_id": order.id, "customer_id": customer_id, "total": order.total})
        return order, True

    async def cancel(self, order_id: int, updated_by: str) -> Order:
        order, changed = await self.store.transition(order_id, "Cancelled", updated_by)
        if not changed:
            raise Conflict("The order is already cancelled.")
        self._changed(order)
        await self._release_quietly(await self.store.reservation_of(order_id))
        return order

    async def mark_dispatched(self, order_id: int, updated_by: str) -> Order:
        order, changed = await self.store.transition(order_id, "Dispatched", updated_by)
        if changed:
            self._changed(order)
        return order

    async def release_leftovers(self, *, pending_before: str) -> None:
        """Give back stock of cancelled orders whose release failed, and of reservations
        left without an order (by a crash, or a reserve and a release that both failed)
        that are older than `pending_before` (at start-up: all of them)."""
        for reservation_id in await self.store.reservations_to_release(pending_before):
            await self._release_quietly(reservation_id)

    async def settle_dispatched(self) -> int:
        """Tell products that dispatched orders' stock is gone for good, a batch per call, and
        forget those reservations here; how many were settled. A failure leaves them
        'settling' for the next round."""
        settled = 0
        while batch := await self.store.reservations_to_settle(SETTLE_BATCH):
            try:
                await self.registry.get(PRODUCTS).settle(batch)
            except ShopError as exc:
                log.warning("settling reservations deferred", extra={"count": len(batch), "reason": exc.detail})
                break
            await self.store.reservations_settled(batch)
            settled += len(batch)
            if len(batch) < SETTLE_BATCH:
                break
        return settled

    async def _release_quietly(self, reservation_id: str) -> None:
        try:
            await asyncio.shield(self.registry.get(PRODUCTS).release(reservation_id))
        except ShopError as exc:
            # Stays recorded as 'pending'/'releasing'; the reconciler tries again.
            log.warning("stock release deferred", extra={"reservation_id": reservation_id, "reason": exc.detail})
            return
        await self.store.reservation_released(reservation_id)

    async def _unknown_products(self, body: OrderCreate) -> ValidationFailed:
        known = await self.registry.get(PRODUCTS).get_many({line.product_id for line in body.items})
        return ValidationFailed(
            "The order names a product that does not exist.",
            [
                FieldError(("items", index, "product_id"), "unknown product")
                for index, line in enumerate(body.items)
                if line.product_id not in known
            ],
        )

    def _changed(self, order: Order) -> None:
        self._on_outbox_write()
        self.broadcaster.notify(order.customer_id)


def _merge_lines(body: OrderCreate) -> dict[int, int]:
    lines: dict[int, int] = {}
    for line in body.items:
        lines[line.product_id] = lines.get(line.product_id, 0) + line.quantity
    return lines

"""The original system's per-order fields, added to an order as it is answered (see
models.OrderAnswer for what a many-line order shows). Computed from the lines as enriched,
so `product.name` is the product's current name, like the lines'."""

from __future__ import annotations

from shop.services.orders.store import OrderDocument

PLACED_MESSAGE = "Order placed successfully."


def with_original_fields(order: OrderDocument) -> OrderDocument:
    lines = order["items"]
    first = lines[0]
    more = len(lines) - 1
    order["product_id"] = first["product_id"]
    order["product"] = {
        "id": first["product_id"],
        "name": first["name"] if more == 0 else f"{first['name']} and {more} more",
    }
    order["quantity"] = sum(line["quantity"] for line in lines)
    order["per_cost"] = first["unit_price"] if more == 0 else None
    order["total_cost"] = order["total"]
    return order


def placed_from_original_body(order: OrderDocument) -> OrderDocument:
    """What the original UI reads after posting its bare array: one order was made."""
    return {**order, "message": PLACED_MESSAGE, "order_count": 1, "order_ids": [order["id"]]}

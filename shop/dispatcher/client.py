"""The dispatcher in the registry. No service calls it (it consumes the bus); it is
registered all the same, so /ready and /api/registry cover its database locally, or its
health when it runs elsewhere, and the gateway knows where to forward /api/dispatcher."""

from __future__ import annotations

from shop.registry import RemoteEndpoint, ServiceKey

# The local entry holds no client (there is nothing to call); a remote one holds its endpoint.
DISPATCHER = ServiceKey[RemoteEndpoint | None]("dispatcher", lambda endpoint: endpoint)

"""Auth in the registry. No service calls auth: each verifies tokens itself with the shared
secret (shop/gateway/auth.py). Auth is registered all the same, so /ready and /api/registry
cover its database locally, or its health when it runs elsewhere."""

from __future__ import annotations

from shop.registry import RemoteEndpoint, ServiceKey

# The local entry holds no client (there is nothing to call); a remote one holds its endpoint.
AUTH = ServiceKey[RemoteEndpoint | None]("auth", lambda endpoint: endpoint)

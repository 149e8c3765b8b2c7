"""The shop's services. Each package: app.py (create_app), routes.py, models.py, store.py,
and client.py (the interface other services use through the registry)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class ServiceApps:
    """What a service gives the root app to mount: its public routes under /api/<name>
    and its service-to-service routes under /internal/<name> (credential required)."""

    name: str
    public: web.Application
    internal: web.Application | None = None

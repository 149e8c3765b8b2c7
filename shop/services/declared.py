"""Every service of the shop, in the order they are created.

How to add a service: make a package, shop/services/<name>/, with its app.py (`create_app(ctx:
ServiceContext) -> ServiceApps`: its routes, its database in a cleanup context, its local
client registered in `ctx.registry`; and below it the service's declaration, `SERVICE =
Service(...)`), routes.py, models.py, store.py and client.py (its `ServiceKey`, and the local
and remote clients other services use); then add its `SERVICE` to the list below. Nothing
else names it: the root app creates and mounts it, a gateway forwards its routes when it runs
elsewhere, `--services` and `[services.<name>] url` accept its name, the layout checks whom it
calls and whether the bus must be Kafka, the gateway takes its public and login paths, backup
and status cover its databases, and the OpenAPI document counts its routes as a service's.
tests/test_service_declaration.py builds the shop with one more service declared this way.

The order matters: a service's start-up may call one created before it (auth creates the
admin's customer profile, so customers comes before auth).

The declarations sit in app.py, not in a package's __init__.py: services import each other's
client.py, and an __init__.py that imported the whole service would make those imports
circular.
"""

from __future__ import annotations

from shop.dispatcher import app as dispatcher
from shop.services import Service
from shop.services.auth import app as auth
from shop.services.customers import app as customers
from shop.services.orders import app as orders
from shop.services.products import app as products

SERVICES: tuple[Service, ...] = (customers.SERVICE, products.SERVICE, auth.SERVICE, orders.SERVICE, dispatcher.SERVICE)

"""The OpenAPI document generated from the code, and the page that shows it.

Handlers describe themselves with `@operation(...)` (describe.py); document.py walks the
router to build the document; routes.py serves it at /api/openapi.json and the offline
Swagger UI page at /api/docs. Only the describing names are exported here, so a service's
routes.py can import them without pulling in the generator.
"""

from shop.openapi.describe import Auth, Content, Operation, Param, operation

__all__ = ["Auth", "Content", "Operation", "Param", "operation"]

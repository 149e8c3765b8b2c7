"""`@operation(...)`: what a handler accepts and answers, for the OpenAPI document.

The decorator only attaches an `Operation` to the handler function; requests never look at
it, so describing a handler costs nothing per request. The generator (document.py) reads it
when it walks the router.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel

# Who may call: "public" needs no token; "optional" works without one but a token changes
# the answer (/metrics off loopback); "customer" is any signed-in caller; "owner_or_admin"
# answers 404 to everyone else; "service" is the service credential (internal routes).
Auth = Literal["public", "optional", "customer", "owner_or_admin", "admin", "service"]
AUTH_LEVELS = frozenset(get_args(Auth))

OPERATION_ATTR = "__openapi_operation__"

H = TypeVar("H", bound=Callable[..., Any])


@dataclass(frozen=True)
class Param:
    """A query, path or header parameter. `schema` is a Python type pydantic can describe
    (int, bool, Literal["a", "b"], Annotated[int, Field(ge=1)], ...) or a JSON Schema dict."""

    name: str
    schema: Any = str
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class Content:
    """A response body that is not plain JSON of a model, or that needs headers described:
    `Content("text/event-stream", description=...)`, `Content(Customer, headers={"Location": ...})`.
    `schema` is a model, any type pydantic can describe, a JSON Schema dict, or None."""

    schema: Any = None
    media_type: str = "application/json"
    description: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)  # name -> description


@dataclass(frozen=True)
class Operation:
    summary: str
    description: str
    auth: Auth
    tags: tuple[str, ...]
    body: Any
    responses: Mapping[int, Any]
    query: type[BaseModel] | tuple[Param, ...]
    path: tuple[Param, ...]
    headers: tuple[Param, ...]
    errors: Mapping[int, str]  # status -> description ("" for the shared one)
    paged: bool
    operation_id: str | None
    deprecated: bool
    hidden: bool


def operation(
    summary: str,
    *,
    description: str | None = None,
    auth: Auth = "public",
    tags: Sequence[str] = (),
    body: Any = None,
    responses: Mapping[int, Any] | None = None,
    query: type[BaseModel] | Sequence[Param] = (),
    path: Sequence[Param] = (),
    headers: Sequence[Param] = (),
    errors: Iterable[int] | Mapping[int, str] = (),
    paged: bool = False,
    operation_id: str | None = None,
    deprecated: bool = False,
    hidden: bool = False,
) -> Callable[[H], H]:
    """Describe a handler for the OpenAPI document; returns it unchanged.

    - body: the request body's model (or any type pydantic can describe, e.g. a union).
    - responses: status -> model, `list[Model]`, `Content(...)`, or None for no body (204).
    - query: a pydantic model whose fields are the query parameters, or a list of `Param`.
    - path: path parameters; undeclared ones ending in `id` are documented as integers.
    - errors: statuses beyond the ones derived from auth, body, parameters and paging, each
      with an optional description (`{409: "The email is taken."}`); all are problem documents.
    - paged: documents `limit`/`offset` and the X-Total-Count and Link headers of a list.
    - hidden: described, but left out of the public document (assets, pages).
    """
    if auth not in AUTH_LEVELS:
        raise ValueError(f"auth must be one of {sorted(AUTH_LEVELS)}, not {auth!r}")
    error_map = dict(errors) if isinstance(errors, Mapping) else {status: "" for status in errors}
    for status in (*error_map, *(responses or {})):
        if status not in HTTPStatus._value2member_map_:
            raise ValueError(f"{status} is not an HTTP status")

    def attach(handler: H) -> H:
        doc = inspect.getdoc(handler) or ""
        setattr(
            handler,
            OPERATION_ATTR,
            Operation(
                summary=summary,
                description=doc if description is None else description,
                auth=auth,
                tags=tuple(tags),
                body=body,
                responses=dict(responses) if responses is not None else {200: Content()},
                query=query if isinstance(query, type) else tuple(query),
                path=tuple(path),
                headers=tuple(headers),
                errors=error_map,
                paged=paged,
                operation_id=operation_id,
                deprecated=deprecated,
                hidden=hidden,
            ),
        )
        return handler

    return attach


def described(handler: Any) -> Operation | None:
    """The handler's description, if it has one."""
    found = getattr(handler, OPERATION_ATTR, None)
    return found if isinstance(found, Operation) else None

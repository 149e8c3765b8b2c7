"""The OpenAPI 3.1 document, generated from the running app.

It walks the root app's router and every mounted service's, so what it documents is what is
served. A handler described with @operation contributes its models (as JSON Schemas from
pydantic, shared under components.schemas); one without still appears with its method, path
and docstring, so nothing goes missing silently. Internal (/internal/...) routes are left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import metadata
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, TypeAdapter

from shop.openapi.describe import Auth, Content, Operation, Param, described
from shop.openapi.schemas import Problem
from shop.paging import DEFAULT_LIMIT, MAX_LIMIT
from shop.pathparams import MAX_ID
from shop.problems import PROBLEM_CONTENT_TYPE

OPENAPI_VERSION = "3.1.0"
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")  # HEAD and OPTIONS come free
INTERNAL_PREFIX = "/internal"
SCHEMA_REF = "#/components/schemas/{model}"

JsonSchemaMode = Literal["validation", "serialization"]

# Errors many operations share: components.responses name and what the status means here.
SHARED_ERRORS: dict[int, tuple[str, str]] = {
    400: (
        "BadRequest",
        "The body is not valid JSON, or a header value is not UTF-8; or, in plain text from "
        "aiohttp's parser, a request line or header it cannot read (over 8 KiB, a control byte).",
    ),
    401: ("Unauthorized", "A token is needed, or the one sent is invalid or expired."),
    403: ("Forbidden", "Signed in, but this needs an administrator."),
    404: ("NotFound", "No such resource, or not yours."),
    405: ("MethodNotAllowed", "The method is not supported here."),
    409: ("Conflict", "Conflicts with the current state."),
    413: ("PayloadTooLarge", "The body is larger than the gateway accepts."),
    415: ("UnsupportedMediaType", "The body is not JSON (application/json)."),
    422: ("ValidationFailed", "Well-formed, but fails validation; `errors` names each field."),
    429: ("TooManyRequests", "Rate limited: try again after Retry-After seconds."),
    502: ("BadGateway", "A service in another process answered with something that is not an answer."),
    503: ("ServiceUnavailable", "A service or dependency this request needs is down."),
    504: ("GatewayTimeout", "A service in another process did not answer in time."),
}
ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}},
    429: {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
}

ACCESS: dict[Auth, str] = {
    "public": "Open to anyone.",
    "optional": "Open without a token in the cases described; otherwise needs one.",
    "customer": "Needs a signed-in user's token.",
    "owner_or_admin": "The record's owner or an administrator; anyone else gets 404.",
    "admin": "Administrators only.",
    "service": "Service-to-service: needs the service credential.",
}
SECURITY: dict[Auth, list[dict[str, list[str]]]] = {
    "public": [],
    "optional": [{}, {"bearerAuth": []}],
    "customer": [{"bearerAuth": []}],
    "owner_or_admin": [{"bearerAuth": []}],
    "admin": [{"bearerAuth": []}],
    "service": [{"serviceToken": []}],
}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "The token from /api/auth/login or /api/auth/register. "
        "A bare token without the 'Bearer' scheme is accepted too.",
    },
    "serviceToken": {"type": "apiKey", "in": "header", "name": "X-Service-Token"},
}

DESCRIPTION = """\
The shop's HTTP API, generated from the code that serves it.

- Errors are RFC 9457 problem documents (`application/problem+json`, schema `Problem`).
- Every response carries `X-Request-ID`; the same id is in problem documents and the access log.
- Lists are bare JSON arrays, paged with `?limit=` and `?offset=`, with `X-Total-Count` and `Link`.
- Money is a JSON number with at most two decimals; timestamps are RFC 3339 UTC strings.
"""

_PATH_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. /api/customers/{customer_id}
    handler: Any


def app_routes(app: web.Application) -> Iterator[Route]:
    """Every documentable route of `app` and of the apps mounted in it, in router order.
    A mounted app's resources carry its prefix already (aiohttp adds it when mounting)."""
    for resource in app.router.resources():
        sub_app = resource.get_info().get("app")
        if isinstance(sub_app, web.Application):
            yield from app_routes(sub_app)
        elif not isinstance(resource, web.StaticResource):  # files, not operations
            for route in resource:
                # "*" routes (catch-all forwarding) have no fixed meaning to describe.
                if route.method in DOCUMENTED_METHODS:
                    yield Route(route.method, resource.canonical, route.handler)


def is_internal(path: str) -> bool:
    return path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/")


def public_routes(app: web.Application) -> list[Route]:
    return [route for route in app_routes(app) if not is_internal(route.path)]


class _SchemaBank:
    """Collects every type the document needs, then asks pydantic for all their JSON Schemas
    in one go, so a model used in many places becomes one shared components.schemas entry
    (and two different models with the same name get distinct entries)."""

    def __init__(self) -> None:
        self._inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
        self._resolved: dict[int, dict[str, Any]] = {}
        self.definitions: dict[str, Any] = {}

    def add(self, annotation: Any, mode: JsonSchemaMode) -> int | dict[str, Any]:
        if isinstance(annotation, dict):
            return annotation
        key = len(self._inputs)
        self._inputs.append((key, mode, TypeAdapter(annotation)))
        return key

    def resolve(self) -> None:
        schemas, definitions = TypeAdapter.json_schemas(self._inputs, ref_template=SCHEMA_REF)
        self._resolved = {key: schema for (key, _mode), schema in schemas.items()}
        self.definitions = definitions.get("$defs", {})

    def get(self, ref: int | dict[str, Any]) -> dict[str, Any]:
        return ref if isinstance(ref, dict) else self._resolved[ref]


SchemaRef = int | dict[str, Any]


@dataclass
class _Planned:
    """One operation with its schemas registered in the bank, waiting for them to resolve."""

    route: Route
    operation: Operation | None
    operation_id: str
    tags: list[str]
    in_service: bool  # under a service's prefix, in this process or forwarded to another
    params: list[tuple[str, Param, SchemaRef]] = field(default_factory=list)
    query_model: SchemaRef | None = None
    body: SchemaRef | None = None
    responses: dict[int, tuple[Content | None, SchemaRef | None]] = field(default_factory=dict)


def build_document(app: web.Application, service_prefixes: Sequence[str] = ()) -> dict[str, Any]:
    """`service_prefixes`: where the services' routes are (/api/<name>); an operation there
    can also answer what reaching a service adds, 503 when it is down, 502 and 504 when it
    runs elsewhere."""
    bank = _SchemaBank()
    problem_key = bank.add(Problem, "serialization")
    planned = [
        _plan(route, operation_id, bank, _under(route.path, service_prefixes))
        for route, operation_id in _with_operation_ids(app)
    ]
    bank.resolve()
    problem = bank.get(problem_key)  # a $ref to Problem (or a longer name, should two collide)
    builder = _Builder(bank, problem)

    paths: dict[str, dict[str, Any]] = {}
    for item in planned:
        paths.setdefault(item.route.path, {})[item.route.method.lower()] = builder.operation(item)
    tags = sorted({tag for item in planned for tag in item.tags})
    uses_service_token = any(item.operation and item.operation.auth == "service" for item in planned)
    schemes = {
        name: scheme for name, scheme in SECURITY_SCHEMES.items() if name != "serviceToken" or uses_service_token
    }
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Shop API", "version": _version(), "description": DESCRIPTION},
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": bank.definitions,
            "responses": builder.shared_responses(),
            "headers": _shared_headers(),
            "securitySchemes": schemes,
        },
    }


def _under(path: str, prefixes: Sequence[str]) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in prefixes)


def _with_operation_ids(app: web.Application) -> Iterator[tuple[Route, str]]:
    routes = [r for r in public_routes(app) if not ((op := described(r.handler)) and op.hidden)]
    methods_per_handler = Counter(id(route.handler) for route in routes)
    seen: set[str] = set()
    for route in routes:
        operation = described(route.handler)
        base = (
            operation.operation_id
            if operation and operation.operation_id
            else str(getattr(route.handler, "__name__", "operation"))
        )
        if methods_per_handler[id(route.handler)] > 1:  # PUT and PATCH on one handler
            base = f"{base}_{route.method.lower()}"
        operation_id, n = base, 1
        while operation_id in seen:
            n += 1
            operation_id = f"{base}_{n}"
        seen.add(operation_id)
        yield route, operation_id


def _plan(route: Route, operation_id: str, bank: _SchemaBank, in_service: bool) -> _Planned:
    operation = described(route.handler)
    tags = list(operation.tags) if operation and operation.tags else [_default_tag(route.path)]
    item = _Planned(route, operation, operation_id, tags, in_service)
    declared = {p.name: p for p in operation.path} if operation else {}
    for name in _PATH_PARAM.findall(route.path):
        param = declared.get(name) or Param(name, int if name == "id" or name.endswith("_id") else str)
        item.params.append(("path", param, bank.add(_id_range(param.schema), "validation")))
    if operation is None:
        return item
    if isinstance(operation.query, type) and issubclass(operation.query, BaseModel):
        item.query_model = bank.add(operation.query, "validation")
    else:
        for param in operation.query:
            item.params.append(("query", param, bank.add(_id_range(param.schema), "validation")))
    if operation.paged:
        item.params.extend(("query", param, param.schema) for param in _paging_params())
    for param in operation.headers:
        item.params.append(("header", param, bank.add(param.schema, "validation")))
    if operation.body is not None:
        item.body = bank.add(operation.body, "validation")
    for status, spec in operation.responses.items():
        content = spec if isinstance(spec, Content) or spec is None else Content(spec)
        schema = None if content is None or content.schema is None else bank.add(content.schema, "serialization")
        item.responses[status] = (content, schema)
    return item


def _id_range(schema: Any) -> Any:
    """A path or query parameter declared `int` is a record id: pathparams.parse_id takes
    1 to 2^63-1 (SQLite's INTEGER range) and nothing else."""
    return {"type": "integer", "minimum": 1, "maximum": MAX_ID} if schema is int else schema


def _paging_params() -> list[Param]:
    return [
        Param(
            "limit",
            {"type": "integer", "minimum": -MAX_ID, "maximum": MAX_ID, "default": DEFAULT_LIMIT},
            f"Page size; clamped to 1..{MAX_LIMIT}.",
        ),
        Param("offset", {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0}, "How many items to skip."),
    ]


def _default_tag(path: str) -> str:
    parts = path.strip("/").split("/")
    return parts[1] if len(parts) > 1 and parts[0] == "api" else "operations"


class _Builder:
    """Turns planned operations into OpenAPI operation objects once the schemas resolved."""

    def __init__(self, bank: _SchemaBank, problem: dict[str, Any]) -> None:
        self.bank = bank
        self.problem = problem

    def operation(self, item: _Planned) -> dict[str, Any]:
        operation = item.operation
        result: dict[str, Any] = {"operationId": item.operation_id, "tags": item.tags}
        # Path parameters first, then a query model's fields, then the rest in declared order.
        params = sorted(item.params, key=lambda entry: entry[0] != "path")
        parameters = [self._parameter(where, param, schema) for where, param, schema in params]
        if operation is None:
            doc = (getattr(item.route.handler, "__doc__", None) or "").strip()
            name = getattr(item.route.handler, "__name__", "operation").replace("_", " ")
            result["summary"] = doc.splitlines()[0] if doc else name.capitalize()
            result["description"] = "Not described with @operation yet: request and response are undocumented."
            if parameters:
                result["parameters"] = parameters
            result["responses"] = {"200": {"description": "Undocumented."}}
            return result

        result["summary"] = operation.summary
        access = f"**Access:** {ACCESS[operation.auth]}"
        result["description"] = f"{operation.description}\n\n{access}" if operation.description else access
        result["x-access"] = operation.auth
        if operation.deprecated:
            result["deprecated"] = True
        if item.query_model is not None:
            at = sum(1 for where, _param, _schema in params if where == "path")
            parameters[at:at] = self._model_parameters(self.bank.get(item.query_model))
        if parameters:
            result["parameters"] = parameters
        if item.body is not None:
            result["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": self.bank.get(item.body)}},
            }
        result["responses"] = self._responses(item, operation)
        result["security"] = SECURITY[operation.auth]
        return result

    def _parameter(self, where: str, param: Param, schema: SchemaRef) -> dict[str, Any]:
        result: dict[str, Any] = {"name": param.name, "in": where, "required": where == "path" or param.required}
        if param.description:
            result["description"] = param.description
        result["schema"] = _parameter_schema(self.bank.get(schema))
        return result

    def _model_parameters(self, schema: dict[str, Any]) -> list[dict[str, Any]]:
        """A query model's fields, one parameter each."""
        ref = schema.get("$ref", "")
        model = self.bank.definitions.get(ref.rsplit("/", 1)[-1], schema) if ref else schema
        required = set(model.get("required", ()))
        parameters = []
        for name, prop in model.get("properties", {}).items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            if prop.get("description"):
                param["description"] = prop["description"]
            param["schema"] = _parameter_schema(prop)
            parameters.append(param)
        return parameters

    def _responses(self, item: _Planned, operation: Operation) -> dict[str, Any]:
        responses: dict[str, Any] = {}
        for status, (content, schema) in sorted(item.responses.items()):
            responses[str(status)] = self._response(status, content, schema, operation.paged)
        for status, detail in sorted(_errors(item, operation).items()):
            if str(status) in responses:
                continue
            shared = SHARED_ERRORS.get(status)
            if shared and not detail:
                responses[str(status)] = _ref_response(shared[0])
            else:
                responses[str(status)] = self.problem_response(
                    detail or _phrase(status), ERROR_HEADERS.get(status, {}), status
                )
        return responses

    def _response(self, status: int, content: Content | None, schema: SchemaRef | None, paged: bool) -> dict[str, Any]:
        result: dict[str, Any] = {"description": (content.description if content else "") or _phrase(status)}
        headers: dict[str, Any] = {"X-Request-ID": _ref_header("X-Request-ID")}
        if paged and status == 200:
            headers["X-Total-Count"] = _ref_header("X-Total-Count")
            headers["Link"] = _ref_header("Link")
        if content is not None:
            for name, description in content.headers.items():
                headers[name] = {"description": description, "schema": {"type": "string"}}
        result["headers"] = headers
        if content is not None:
            media: dict[str, Any] = {}
            if schema is not None:
                media["schema"] = self.bank.get(schema)
            elif not content.media_type.endswith("json"):
                media["schema"] = {"type": "string"}
            result["content"] = {content.media_type: media}
        return result

    def problem_response(self, description: str, headers: dict[str, Any], status: int = 0) -> dict[str, Any]:
        content: dict[str, Any] = {PROBLEM_CONTENT_TYPE: {"schema": self.problem}}
        if status == 400:
            # aiohttp's parser answers a request it cannot read (a request line over 8 KiB, a
            # control byte in the URL) itself, in plain text, before the shop sees it: why it
            # is not a problem document is in shop/gateway/errors.py.
            content["text/plain"] = {"schema": {"type": "string"}}
        return {
            "description": description,
            "headers": {"X-Request-ID": _ref_header("X-Request-ID"), **headers},
            "content": content,
        }

    def shared_responses(self) -> dict[str, Any]:
        responses = {
            name: self.problem_response(f"{_phrase(status)}: {description}", ERROR_HEADERS.get(status, {}), status)
            for status, (name, description) in SHARED_ERRORS.items()
        }
        return responses


def _errors(item: _Planned, operation: Operation) -> dict[int, str]:
    """The error statuses an operation can answer: those that follow from what it takes and
    who may call it, and its own (whose descriptions win)."""
    derived: dict[int, str] = {400: ""}  # any request: a header value that is not UTF-8
    if operation.body is not None:
        derived.update({400: "", 413: "", 415: "", 422: ""})
    if operation.auth in ("customer", "owner_or_admin", "admin"):
        derived[401] = ""
    if operation.auth == "admin":
        derived[403] = ""
    if operation.auth == "owner_or_admin" or any(where == "path" for where, _p, _s in item.params):
        derived[404] = ""
    if item.query_model is not None or any(where in ("query", "header") for where, _p, _s in item.params):
        derived[422] = ""  # a query parameter or a header that fails its schema
    if item.route.path.startswith("/api/"):
        derived[429] = ""  # the gateway's rate limit covers every /api route
    if item.in_service:
        derived.update({502: "", 503: "", 504: ""})
    for status, detail in operation.errors.items():
        if detail or status not in derived:
            derived[status] = detail
    return derived


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A parameter is absent rather than null: drop the null branch pydantic gives an
    optional field. Its title and description belong to the parameter, not its schema."""
    dropped = {"title", "description"}
    schema = {k: v for k, v in schema.items() if k not in dropped and not (k == "default" and v is None)}
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [option for option in options if option != {"type": "null"}]
        if len(kept) == 1:
            del schema["anyOf"]
            schema = {**kept[0], **schema}
        else:
            schema["anyOf"] = kept
    return schema


def _ref_response(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _ref_header(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _shared_headers() -> dict[str, Any]:
    def header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "schema": schema}

    return {
        "X-Request-ID": header("The request's id: the client's own if it sent a sane one.", {"type": "string"}),
        "X-Total-Count": header("How many items the whole list has.", {"type": "integer", "minimum": 0}),
        "Link": header('RFC 8288 links to the rel="next" and rel="prev" pages, where they exist.', {"type": "string"}),
        "WWW-Authenticate": header(
            'Bearer, or Bearer error="invalid_token" when a token was sent.', {"type": "string"}
        ),
        "Retry-After": header("Seconds to wait before trying again.", {"type": "integer", "minimum": 1}),
    }


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase


def _version() -> str:
    try:
        return metadata.version("shop")
    except metadata.PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"

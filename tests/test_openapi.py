"""The OpenAPI document and the offline documentation page.

The document must describe what the app really serves: every public route, the request
models exactly as pydantic validates them, and responses that real answers conform to."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import BaseModel, ConfigDict, Field

from shop.openapi import Content, Param, operation
from shop.openapi.describe import described
from shop.openapi.document import app_routes, build_document, public_routes
from shop.services.auth.models import LoginRequest, RegisterRequest
from shop.services.customers.models import CustomerCreate, CustomerUpdate
from shop.services.orders.models import OrderCreate
from shop.services.products.models import ProductCreate, ProductUpdate
from tests.assertions import problem
from tests.conftest import Api

REF = "#/components/schemas/{model}"
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright's own download is not used
BROWSER_WAIT_MS = 15_000  # only a bug gets near it

# Every endpoint of API.md implemented so far, as (method, path template).
IMPLEMENTED = {
    ("post", "/api/auth/register"),
    ("post", "/api/auth/login"),
    ("get", "/api/auth/me"),
    ("get", "/api/customers"),
    ("post", "/api/customers"),
    ("get", "/api/customers/me"),
    ("get", "/api/customers/{customer_id}"),
    ("put", "/api/customers/{customer_id}"),
    ("patch", "/api/customers/{customer_id}"),
    ("delete", "/api/customers/{customer_id}"),
    ("get", "/api/products"),
    ("post", "/api/products"),
    ("get", "/api/products/{product_id}"),
    ("put", "/api/products/{product_id}"),
    ("patch", "/api/products/{product_id}"),
    ("delete", "/api/products/{product_id}"),
    ("post", "/api/orders"),
    ("get", "/api/orders"),
    ("get", "/api/orders/events"),
    ("get", "/api/orders/{order_id}"),
    ("post", "/api/orders/{order_id}/cancel"),
    ("get", "/api/orders/{order_id}/events"),
    ("get", "/api/dispatcher/deliveries"),
    ("post", "/api/dispatcher/deliveries/{delivery_id}/retry"),
    ("get", "/api/bus/parked"),
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/api/registry"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("get", "/api/docs"),
}
REQUEST_MODELS: dict[str, type[BaseModel]] = {
    "RegisterRequest": RegisterRequest,
    "LoginRequest": LoginRequest,
    "CustomerCreate": CustomerCreate,
    "CustomerUpdate": CustomerUpdate,
    "ProductCreate": ProductCreate,
    "ProductUpdate": ProductUpdate,
    "OrderCreate": OrderCreate,
}


async def fetch_document(client: TestClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status == 200, await response.text()
    assert response.content_type == "application/json"
    return await response.json()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, item in doc["paths"].items() for method, op in item.items()}


def deref(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local $refs ("#/components/...") until a node without one."""
    while isinstance(node, dict) and set(node) == {"$ref"}:
        target: Any = doc
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


# -- the document ----------------------------------------------------------------------------


async def test_document_is_valid_openapi_3_1(client: TestClient) -> None:
    doc = await fetch_document(client)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["paths"] and doc["components"]["schemas"]
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    validate_openapi(doc)  # raises with the reason if the document is not valid OpenAPI


async def test_document_has_every_implemented_endpoint(client: TestClient) -> None:
    documented = operations(await fetch_document(client))
    missing = IMPLEMENTED - set(documented)
    assert not missing, sorted(missing)
    ids = [op["operationId"] for op in documented.values()]
    assert len(ids) == len(set(ids)), "operationIds must be unique"


async def test_every_public_route_is_described(client: TestClient) -> None:
    """A new handler must say what it takes and answers: describe it with
    `@shop.openapi.operation(...)` (see shop/openapi/describe.py)."""
    undescribed = [
        f"{route.method} {route.path} ({route.handler.__module__}.{route.handler.__qualname__})"
        for route in public_routes(client.server.app)
        if described(route.handler) is None
    ]
    assert not undescribed, "describe these handlers with @operation: " + ", ".join(undescribed)


async def test_internal_routes_are_left_out(client: TestClient) -> None:
    internal = [route.path for route in app_routes(client.server.app) if route.path.startswith("/internal/")]
    assert internal, "the app has internal routes, so this test means something"
    doc = await fetch_document(client)
    assert not [path for path in doc["paths"] if path.startswith("/internal")]
    assert "serviceToken" not in doc["components"]["securitySchemes"]
    assert "X-Service-Token" not in json.dumps(doc)


async def test_request_bodies_are_the_pydantic_models(client: TestClient) -> None:
    doc = await fetch_document(client)
    schemas = doc["components"]["schemas"]
    for name, model in REQUEST_MODELS.items():
        expected = model.model_json_schema(ref_template=REF)
        for nested, definition in expected.pop("$defs", {}).items():
            assert schemas[nested] == definition, nested
        assert schemas[name] == expected, name

    register = operations(doc)[("post", "/api/auth/register")]["requestBody"]
    assert register["required"] is True
    schema = deref(doc, register["content"]["application/json"]["schema"])
    assert {"name", "email", "password"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
    assert schema["properties"]["password"]["minLength"] == 8

    for method in ("put", "patch"):
        update = operations(doc)[(method, "/api/customers/{customer_id}")]["requestBody"]
        body = deref(doc, update["content"]["application/json"]["schema"])
        assert body["additionalProperties"] is False
        assert "id" not in body["properties"] and "email" not in body["properties"]


async def test_every_error_response_is_a_problem(client: TestClient) -> None:
    doc = await fetch_document(client)
    problem_schema = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "request_id"} <= set(problem_schema["required"])
    field_error = deref(doc, problem_schema["properties"]["errors"]["items"])
    assert set(field_error["required"]) == {"loc", "msg"}

    for (method, path), op in operations(doc).items():
        # Every status listed, none hidden behind a blanket `default`.
        assert "default" not in op["responses"], (method, path)
        assert "400" in op["responses"], (method, path)
        if path.startswith("/api/"):
            assert "429" in op["responses"], (method, path)
        for status, response in op["responses"].items():
            if int(status) < 400:
                continue
            content = dict(deref(doc, response)["content"])
            if status == "400":  # also aiohttp's own, for a request it cannot parse
                assert content.pop("text/plain") == {"schema": {"type": "string"}}
            assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}, (
                method,
                path,
                status,
            )


async def test_access_and_derived_errors_are_documented(client: TestClient) -> None:
    ops = operations(await fetch_document(client))
    admin_list = ops[("get", "/api/customers")]
    assert admin_list["security"] == [{"bearerAuth": []}]
    assert {"401", "403", "429"} <= set(admin_list["responses"])
    owner = ops[("get", "/api/customers/{customer_id}")]
    assert "404" in owner["responses"] and "403" not in owner["responses"]
    assert owner["parameters"][0] == {
        "name": "customer_id",
        "in": "path",
        "required": True,
        "description": "The customer's id (the same as their user id).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
    }
    login = ops[("post", "/api/auth/login")]
    assert login["security"] == []
    assert {"400", "413", "415", "422"} <= set(login["responses"])
    assert "one message for both" in login["responses"]["401"]["description"]
    register = ops[("post", "/api/auth/register")]
    assert "already exists" in register["responses"]["409"]["description"]


async def test_paged_lists_document_paging(client: TestClient) -> None:
    doc = await fetch_document(client)
    for path in ("/api/customers", "/api/products"):
        op = operations(doc)[("get", path)]
        names = [param["name"] for param in op["parameters"]]
        assert {"limit", "offset"} <= set(names), path
        ok = op["responses"]["200"]
        assert {"X-Total-Count", "Link", "X-Request-ID"} <= set(ok["headers"])
        assert ok["content"]["application/json"]["schema"]["type"] == "array"
    products = operations(doc)[("get", "/api/products")]
    sort = next(param for param in products["parameters"] if param["name"] == "sort")
    # An empty value is no filter (as HTML forms send it), so "" is one of the values.
    assert sort["schema"]["enum"] == ["name", "-name", "price", "-price", "-created_at", ""]


async def test_document_is_built_once(client: TestClient) -> None:
    first = await client.get("/api/openapi.json")
    second = await client.get("/api/openapi.json")
    assert await first.read() == await second.read()


# -- real answers conform to the document ------------------------------------------------------


async def conforms(doc: dict[str, Any], response: ClientResponse, method: str, path: str) -> Any:
    """Assert `response` is what the document says `method path` answers with its status;
    return the decoded JSON body (None when there is none)."""
    op = doc["paths"][path][method.lower()]
    assert str(response.status) in op["responses"], (method, path, response.status)
    documented = deref(doc, op["responses"][str(response.status)])
    raw = await response.read()
    for name in documented.get("headers", {}):
        if name != "Link":  # only where a next or previous page exists
            assert name in response.headers, (method, path, response.status, name)
    content = documented.get("content")
    if not content:
        assert raw == b"", (method, path, response.status)
        return None
    assert response.content_type in content, (method, path, response.content_type, list(content))
    schema = content[response.content_type].get("schema")
    if not response.content_type.endswith("json"):
        return None
    body = json.loads(raw)
    if schema is not None:
        # The components travel along so the schema's "#/components/..." refs resolve.
        Draft202012Validator({**schema, "components": doc["components"]}).validate(body)
    return body


async def test_real_answers_conform_to_the_document(api: Api) -> None:
    client = api.client
    doc = await fetch_document(client)

    register = {"name": "Ann", "email": "ann@example.com", "password": "password-123", "city": "Oslo"}
    response = await client.post("/api/auth/register", json=register)
    assert response.status == 201
    user = await conforms(doc, response, "POST", "/api/auth/register")
    headers = {"Authorization": f"Bearer {user['token']}"}
    for bad, status in (({**register}, 409), ({**register, "password": "short"}, 422), ({**register, "id": 5}, 422)):
        response = await client.post("/api/auth/register", json=bad)
        assert response.status == status
        await conforms(doc, response, "POST", "/api/auth/register")
    response = await client.post("/api/auth/register", data=b"{", headers={"Content-Type": "application/json"})
    await problem(response, 400)
    await conforms(doc, response, "POST", "/api/auth/register")

    for password, status in (("password-123", 200), ("wrong-password", 401)):
        response = await client.post("/api/auth/login", json={"email": "ann@example.com", "password": password})
        assert response.status == status
        await conforms(doc, response, "POST", "/api/auth/login")
    for sent, status in ((headers, 200), ({}, 401)):
        response = await client.get("/api/auth/me", headers=sent)
        assert response.status == status
        await conforms(doc, response, "GET", "/api/auth/me")

    admin = (await api.admin()).headers
    for sent, status in ((admin, 200), (headers, 403)):
        response = await client.get("/api/customers?limit=1", headers=sent)
        assert response.status == status
        await conforms(doc, response, "GET", "/api/customers")
    response = await client.post("/api/customers", json={"name": "Bo", "email": "bo@example.com"}, headers=admin)
    assert response.status == 201
    bo = await conforms(doc, response, "POST", "/api/customers")

    response = await client.get("/api/customers/me", headers=headers)
    await conforms(doc, response, "GET", "/api/customers/me")
    item = "/api/customers/{customer_id}"
    for customer_id, status in ((user["user"]["id"], 200), (bo["id"], 404)):
        response = await client.get(f"/api/customers/{customer_id}", headers=headers)
        assert response.status == status
        await conforms(doc, response, "GET", item)
    for method in ("PUT", "PATCH"):
        for body, status in (({"city": "Bergen"}, 200), ({"email": "x@example.com"}, 422)):
            response = await client.request(method, f"/api/customers/{user['user']['id']}", json=body, headers=headers)
            assert response.status == status
            await conforms(doc, response, method, item)
    response = await client.delete(f"/api/customers/{bo['id']}", headers=admin)
    assert response.status == 204
    await conforms(doc, response, "DELETE", item)

    response = await client.get("/api/products?limit=2&sort=price")
    products = await conforms(doc, response, "GET", "/api/products")
    response = await client.get(f"/api/products/{products[0]['id']}")
    await conforms(doc, response, "GET", "/api/products/{product_id}")
    response = await client.get("/api/products?sort=sideways")
    await conforms(doc, response, "GET", "/api/products")

    for path, sent in (("/health", {}), ("/ready", {}), ("/api/registry", admin), ("/metrics", {})):
        await conforms(doc, await client.get(path, headers=sent), "GET", path)
    await conforms(doc, await client.get("/api/docs"), "GET", "/api/docs")
    await conforms(doc, await client.get("/api/openapi.json"), "GET", "/api/openapi.json")


# -- the generator on an app of its own -------------------------------------------------------


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)


class ThingQuery(BaseModel):
    colour: str | None = Field(default=None, description="Only things of this colour.")
    size: int = 3


def tiny_app() -> web.Application:
    async def fetch_thing(request: web.Request) -> web.Response:
        """Fetch a thing.

        Undescribed, but it must still show up."""
        return web.Response()

    @operation("Make a thing", auth="admin", body=Thing, responses={201: Thing}, errors={409: "Taken."})
    async def make_thing(request: web.Request) -> web.Response:
        return web.Response()

    @operation(
        "Search things",
        query=ThingQuery,
        headers=[Param("Idempotency-Key", str, "A retry key.")],
        responses={200: list[Thing], 304: None},
        paged=True,
    )
    async def search_things(request: web.Request) -> web.Response:
        return web.Response()

    @operation("Stream", responses={200: Content(media_type="text/event-stream")}, auth="customer")
    async def stream(request: web.Request) -> web.Response:
        return web.Response()

    @operation("An asset", hidden=True)
    async def asset(request: web.Request) -> web.Response:
        return web.Response()

    service = web.Application()
    service.router.add_get("/{thing_id}", fetch_thing)
    service.router.add_post("", make_thing)
    service.router.add_get("", search_things)
    service.router.add_get("/{thing_id}/events", stream)
    service.router.add_get("/assets/x.js", asset)
    internal = web.Application()
    internal.router.add_get("/{thing_id}", fetch_thing)
    app = web.Application()
    app.add_subapp("/api/things", service)
    app.add_subapp("/internal/things", internal)
    return app


def test_generator_walks_mounted_apps_and_keeps_undescribed_routes() -> None:
    doc = build_document(tiny_app())
    validate_openapi(doc)
    assert set(doc["paths"]) == {"/api/things/{thing_id}", "/api/things", "/api/things/{thing_id}/events"}
    assert set(doc["paths"]["/api/things"]) == {"get", "post"}  # no HEAD, no OPTIONS

    fetch = doc["paths"]["/api/things/{thing_id}"]["get"]
    assert fetch["summary"] == "Fetch a thing."
    assert fetch["tags"] == ["things"]
    id_schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
    assert fetch["parameters"] == [{"name": "thing_id", "in": "path", "required": True, "schema": id_schema}]
    assert "Not described" in fetch["description"]

    make = doc["paths"]["/api/things"]["post"]
    assert make["requestBody"]["content"]["application/json"]["schema"] == {"$ref": REF.format(model="Thing")}
    assert doc["components"]["schemas"]["Thing"]["additionalProperties"] is False
    assert make["responses"]["409"]["description"] == "Taken."
    assert make["responses"]["403"] == {"$ref": "#/components/responses/Forbidden"}
    assert make["security"] == [{"bearerAuth": []}]

    search = doc["paths"]["/api/things"]["get"]
    params = {param["name"]: param for param in search["parameters"]}
    assert list(params) == ["colour", "size", "limit", "offset", "Idempotency-Key"]
    assert params["colour"] == {
        "name": "colour",
        "in": "query",
        "required": False,
        "description": "Only things of this colour.",
        "schema": {"type": "string"},  # optional, so absent: never null
    }
    assert params["Idempotency-Key"]["in"] == "header"
    assert "content" not in search["responses"]["304"]

    events = doc["paths"]["/api/things/{thing_id}/events"]["get"]
    assert events["responses"]["200"]["content"] == {"text/event-stream": {"schema": {"type": "string"}}}


def test_operation_only_attaches_metadata() -> None:
    async def handler(request: web.Request) -> web.Response:
        """Docstring becomes the description."""
        return web.Response()

    assert operation("Summary")(handler) is handler
    described_ = described(handler)
    assert described_ is not None and described_.description == "Docstring becomes the description."
    with pytest.raises(ValueError):
        operation("Summary", auth="root")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        operation("Summary", errors=[999])


# -- the documentation page --------------------------------------------------------------------


class PageAssets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.inline_scripts = 0
        self.stylesheets: list[str] = []
        self.icons: list[str] = []
        self.spec_url: str | None = None
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script":
            if attributes.get("src"):
                self.scripts.append(attributes["src"] or "")
            else:
                self.inline_scripts += 1
        elif tag == "link" and attributes.get("rel") == "stylesheet":
            self.stylesheets.append(attributes["href"] or "")
        elif tag == "link" and attributes.get("rel") == "icon":
            self.icons.append(attributes["href"] or "")
        if "data-spec-url" in attributes:
            self.spec_url = attributes["data-spec-url"]


async def test_docs_page_loads_only_same_origin_assets(client: TestClient) -> None:
    response = await client.get("/api/docs")
    assert response.status == 200
    assert response.content_type == "text/html" and response.charset == "utf-8"
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp and "unsafe-eval" not in csp
    html = await response.text()
    assert "http://" not in html and "https://" not in html

    page = PageAssets()
    page.feed(html)
    assert page.inline_scripts == 0
    assert len(page.scripts) == 2 and len(page.stylesheets) == 2 and page.icons
    expected_types = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
    for url in [*page.scripts, *page.stylesheets, *page.icons]:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = await client.get(url)
        assert asset.status == 200, url
        extension = "." + url.split("?")[0].rsplit(".", 1)[1]
        assert asset.content_type == expected_types[extension], url
        assert "immutable" in asset.headers["Cache-Control"], url
        assert len(await asset.read()) > 0

    assert page.spec_url == "/api/openapi.json"
    spec = await client.get(page.spec_url)
    assert spec.status == 200 and (await spec.json())["openapi"].startswith("3.1")

    init = await client.get(next(url for url in page.scripts if "docs.js" in url))
    init_script = await init.text()
    assert "validatorUrl: null" in init_script  # no call to the online validator
    assert "http://" not in init_script and "https://" not in init_script


async def test_docs_assets_caching_and_unknown_names(client: TestClient) -> None:
    unversioned = await client.get("/api/docs/assets/swagger-ui.css")
    assert unversioned.status == 200
    assert unversioned.headers["Cache-Control"] == "no-cache"
    etag = unversioned.headers["ETag"]
    again = await client.get("/api/docs/assets/swagger-ui.css", headers={"If-None-Match": etag})
    assert again.status == 304

    stale = await client.get("/api/docs/assets/docs.js?v=0000")
    assert stale.status == 200 and stale.headers["Cache-Control"] == "no-cache"

    for name in ("nothing.js", "docs.html", "..%2Fdocs.html", "LICENSE"):
        await problem(await client.get(f"/api/docs/assets/{name}"), 404)


async def test_docs_need_no_token(client: TestClient) -> None:
    for path in ("/api/docs", "/api/openapi.json", "/api/docs/assets/docs.js"):
        response = await client.get(path)
        assert response.status == 200, path


async def test_docs_page_works_in_a_browser_offline(client: TestClient) -> None:
    """Swagger UI renders every operation under the page's CSP, asks nothing of any other
    origin, and "Try it out" calls the shop."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian's Chromium: apt-get install chromium")
    browser_api = pytest.importorskip("playwright.async_api")
    expected_operations = len(operations(await fetch_document(client)))
    origin = str(client.make_url("")).rstrip("/")
    errors: list[str] = []
    elsewhere: list[str] = []
    async with browser_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            page = await browser.new_page()
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on(
                "request",
                lambda request: None if request.url.startswith((origin, "data:")) else elsewhere.append(request.url),
            )
            await page.goto(f"{origin}/api/docs")
            expect = browser_api.expect
            await expect(page.locator(".opblock")).to_have_count(expected_operations, timeout=BROWSER_WAIT_MS)

            health = page.locator("#operations-operations-health")
            await health.locator(".opblock-summary").click()
            await health.locator(".try-out__btn").click()
            await health.locator(".execute").click()
            status = health.locator(".live-responses-table tbody .response-col_status")
            await expect(status).to_have_text("200", timeout=BROWSER_WAIT_MS)
        finally:
            await browser.close()
    assert not errors, errors  # a CSP violation would show here
    assert not elsewhere, elsewhere

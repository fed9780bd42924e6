"""/items CRUD, /health and the OpenAPI document, in process (httpx's ASGI transport)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from example_api_support import make_app, open_client
from fargate_example_api.items import MAX_PAGE, ItemStore

pytestmark = pytest.mark.anyio

COFFEE = {
    "name": "coffee beans",
    "description": "1 kg, medium roast",
    "price": 18.5,
    "tags": ["food"],
}


async def create(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    response = await client.post("/items", json={**COFFEE, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_health_answers_ok(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_create_returns_the_item_with_its_location(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json=COFFEE)
    assert response.status_code == 201
    item = response.json()
    assert item["id"] == 1
    assert {k: item[k] for k in COFFEE} == COFFEE
    assert item["created_at"] == item["updated_at"]
    assert response.headers["location"] == "/items/1"


async def test_optional_fields_have_defaults(client: httpx.AsyncClient) -> None:
    response = await client.post("/items", json={"name": "tea", "price": 4})
    assert response.status_code == 201
    assert response.json()["description"] is None
    assert response.json()["tags"] == []
    assert response.json()["price"] == 4.0


async def test_get_list_replace_delete(client: httpx.AsyncClient) -> None:
    first = await create(client)
    second = await create(client, name="tea", price=4.0, tags=[])

    assert (await client.get(f"/items/{first['id']}")).json() == first

    page = (await client.get("/items")).json()
    assert page == {"items": [first, second], "total": 2, "limit": 20, "offset": 0}
    page = (await client.get("/items", params={"limit": 1, "offset": 1})).json()
    assert page["items"] == [second]
    assert page["total"] == 2

    replaced = await client.put(f"/items/{first['id']}", json={"name": "decaf", "price": 20})
    assert replaced.status_code == 200
    body = replaced.json()
    assert body["name"] == "decaf"
    assert body["description"] is None  # PUT replaces the whole item
    assert body["created_at"] == first["created_at"]
    assert body["updated_at"] >= first["updated_at"]

    deleted = await client.delete(f"/items/{first['id']}")
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert (await client.get(f"/items/{first['id']}")).status_code == 404
    assert (await client.get("/items")).json()["total"] == 1


@pytest.mark.parametrize(("method", "body"), [("GET", None), ("PUT", COFFEE), ("DELETE", None)])
async def test_unknown_item_is_404(
    client: httpx.AsyncClient, method: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(method, "/items/42", json=body)
    assert response.status_code == 404
    assert response.json() == {"detail": "item 42 not found"}


@pytest.mark.parametrize(
    "body",
    [
        {"price": 1},  # no name
        {"name": "", "price": 1},
        {"name": "x" * 101, "price": 1},
        {"name": "tea"},  # no price
        {"name": "tea", "price": -0.01},
        {"name": "tea", "price": 1_000_001},
        {"name": "tea", "price": "12"},  # strict: a string is not a price
        {"name": "tea", "price": True},
        {"name": "tea", "price": 1, "tags": ["Not A Slug"]},
        {"name": "tea", "price": 1, "tags": [f"t{i}" for i in range(11)]},
        {"name": "tea", "price": 1, "description": "d" * 1001},
        {"name": "tea", "price": 1, "colour": "green"},  # unknown field
        ["not", "an", "object"],
    ],
)
async def test_invalid_items_are_422(client: httpx.AsyncClient, body: object) -> None:
    response = await client.post("/items", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]  # FastAPI's list of what is wrong, and where


async def test_malformed_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/items", content=b'{"name": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


@pytest.mark.parametrize("path", ["/items/0", "/items/-1", "/items/abc", "/items/1.5"])
async def test_invalid_ids_are_422(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 422


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": MAX_PAGE + 1}, {"offset": -1}, {"limit": "ten"}]
)
async def test_invalid_paging_is_422(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    assert (await client.get("/items", params=params)).status_code == 422


async def test_a_full_store_answers_507() -> None:
    app = make_app()
    app.state.items = ItemStore(capacity=1)
    async for client in open_client(app):
        await create(client)
        response = await client.post("/items", json=COFFEE)
        assert response.status_code == 507
        assert "full" in response.json()["detail"]


async def test_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert (await client.patch("/items/1", json={})).status_code == 405


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    assert spec["info"]["title"] == "fargate-example-api"
    assert set(spec["paths"]) == {"/items", "/items/{item_id}", "/health", "/whoami"}
    assert set(spec["paths"]["/items/{item_id}"]) == {"get", "put", "delete"}
    assert "404" in spec["paths"]["/items/{item_id}"]["get"]["responses"]
    assert "422" in spec["paths"]["/items"]["post"]["responses"]
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_debug_routes_are_off_by_default(client: httpx.AsyncClient) -> None:
    assert (await client.get("/debug/slow", params={"seconds": 0})).status_code == 404


async def test_debug_routes_when_enabled_stay_out_of_the_spec() -> None:
    app = make_app(debug_routes=True)
    async for client in open_client(app):
        response = await client.get("/debug/slow", params={"seconds": 0})
        assert response.status_code == 200
        assert response.json() == {"slept": 0.0}
        spec = (await client.get("/openapi.json")).json()
        assert "/debug/slow" not in spec["paths"]

"""`/items`: a JSON resource with create, list, get, replace and delete.

The store is in memory, per task: behind the load balancer, an item created through one
task is not seen by the others. It shows the API's shape (validation, status codes,
OpenAPI), not how to keep state; a real service puts it in DynamoDB or RDS.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

MAX_ITEMS = 1000  # per task: a public API must not let callers fill its memory
MAX_PAGE = 100

Name = Annotated[str, Field(min_length=1, max_length=100, examples=["coffee beans"])]
Tag = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z0-9-]+$")]
MAX_ID = 2**53 - 1  # the largest integer a JavaScript client reads exactly
ItemId = Annotated[int, Field(ge=1, le=MAX_ID)]


class ItemIn(BaseModel):
    """What a client sends to create or replace an item."""

    # Strict: "12" is not a price and true is not a number, as the schema says.
    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name
    description: Annotated[str, Field(max_length=1000)] | None = None
    price: Annotated[float, Field(ge=0, le=1_000_000, allow_inf_nan=False)]
    tags: Annotated[list[Tag], Field(max_length=10)] = []


class Item(ItemIn):
    id: ItemId
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[Item]
    total: int = Field(description="Items in the store (on this task).")
    limit: int
    offset: int


class Problem(BaseModel):
    detail: str


class ItemStore:
    def __init__(self, capacity: int = MAX_ITEMS) -> None:
        self.capacity = capacity
        self._items: dict[int, Item] = {}
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, data: ItemIn) -> Item | None:
        if len(self._items) >= self.capacity:
            return None
        now = datetime.now(UTC)
        item = Item(id=next(self._ids), created_at=now, updated_at=now, **data.model_dump())
        self._items[item.id] = item
        return item

    def page(self, limit: int, offset: int) -> list[Item]:
        return list(self._items.values())[offset : offset + limit]

    def get(self, item_id: int) -> Item | None:
        return self._items.get(item_id)

    def replace(self, item_id: int, data: ItemIn) -> Item | None:
        old = self._items.get(item_id)
        if old is None:
            return None
        new = Item(
            id=item_id, created_at=old.created_at, updated_at=datetime.now(UTC), **data.model_dump()
        )
        self._items[item_id] = new
        return new

    def delete(self, item_id: int) -> bool:
        return self._items.pop(item_id, None) is not None


router = APIRouter(prefix="/items", tags=["items"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    status.HTTP_404_NOT_FOUND: {"model": Problem, "description": "No such item"}
}
# FastAPI answers 400 when the body is not text at all (invalid UTF-8), 422 otherwise.
UNREADABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_400_BAD_REQUEST: {"model": Problem, "description": "The body cannot be read"}
}
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _store(request: Request) -> ItemStore:
    store: ItemStore = request.app.state.items
    return store


def _missing(item_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, f"item {item_id} not found")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses={**UNREADABLE, 507: {"model": Problem, "description": "The store is full"}},
)
async def create_item(data: ItemIn, request: Request, response: Response) -> Item:
    item = _store(request).add(data)
    if item is None:
        raise HTTPException(507, f"the store is full ({MAX_ITEMS} items); delete some first")
    response.headers["Location"] = f"/items/{item.id}"
    return item


@router.get("")
async def list_items(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ITEMS)] = 0,
) -> ItemPage:
    store = _store(request)
    return ItemPage(items=store.page(limit, offset), total=len(store), limit=limit, offset=offset)


@router.get("/{item_id}", responses=NOT_FOUND)
async def get_item(item_id: PathId, request: Request) -> Item:
    item = _store(request).get(item_id)
    if item is None:
        raise _missing(item_id)
    return item


@router.put("/{item_id}", responses={**NOT_FOUND, **UNREADABLE})
async def replace_item(item_id: PathId, data: ItemIn, request: Request) -> Item:
    item = _store(request).replace(item_id, data)
    if item is None:
        raise _missing(item_id)
    return item


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_FOUND)
async def delete_item(item_id: PathId, request: Request) -> None:
    if not _store(request).delete(item_id):
        raise _missing(item_id)

"""Cursor pagination for every list route: ordered by id, bounded page size, opaque cursor.

A cursor names the last id already seen, so pages stay stable while rows are added (unlike
offsets). Use: `def list_x(page: PageParams) -> Page[XPublic]` and `paginate(...)` in the body.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session
from sqlmodel.sql.expression import SelectOfScalar

from devmatrix_server.errors import InvalidInput

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
Item = TypeVar("Item")
Row = TypeVar("Row")


class Page(BaseModel, Generic[Item]):
    """One page of a list; pass `next_cursor` as `cursor` to get the next (null: no more)."""

    items: list[Item]
    next_cursor: str | None = Field(default=None, examples=["eyJhZnRlciI6IDQyfQ"])


@dataclass(frozen=True)
class PageRequest:
    """The page asked for: at most `limit` rows after id `after` (None: from the start)."""

    limit: int = DEFAULT_PAGE_SIZE
    after: int | str | None = None


def encode_cursor(after: int | str) -> str:
    """The opaque cursor pointing just past id `after`."""
    return base64.urlsafe_b64encode(json.dumps({"after": after}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | str:
    """The id a cursor points past; a cursor this API did not make is refused."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        after = json.loads(raw)["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidInput(
            "The cursor is not one this API returned.",
            "Pass the `next_cursor` of the previous page unchanged, or omit it to start over.",
        ) from None
    if not isinstance(after, int | str) or isinstance(after, bool):
        raise InvalidInput("The cursor is not one this API returned.")
    return after


def _cursor_value(key: Any, after: int | str) -> int | str:
    """`after` if it fits the key column's type, so a doctored cursor never reaches the database."""
    expected = getattr(getattr(key, "type", None), "python_type", None)
    fits = isinstance(after, expected) if expected in (int, str) else True
    if expected is int and fits and not -(2**63) < int(after) < 2**63:
        fits = False
    if not fits:
        raise InvalidInput("The cursor is not one this API returned.")
    return after


def page_request(
    limit: Annotated[
        int, Query(ge=1, le=MAX_PAGE_SIZE, description="Rows per page (at most 200).")
    ] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[
        str | None, Query(max_length=512, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageRequest:
    """Read `limit` and `cursor` from the query string."""
    return PageRequest(limit=limit, after=decode_cursor(cursor) if cursor else None)


PageParams = Annotated[PageRequest, Depends(page_request)]


def paginate(
    session: Session,
    statement: SelectOfScalar[Row],
    *,
    key: InstrumentedAttribute[Any] | Any,
    page: PageRequest,
    to_public: Callable[[Row], Item],
) -> Page[Item]:
    """Run `statement` (already filtered to the caller's rows) one page at a time, ordered by `key`."""
    if page.after is not None:
        statement = statement.where(key > _cursor_value(key, page.after))
    rows = list(session.exec(statement.order_by(key).limit(page.limit + 1)).all())
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    next_cursor = encode_cursor(getattr(rows[-1], key.key)) if more and rows else None
    return Page[Any](items=[to_public(row) for row in rows], next_cursor=next_cursor)

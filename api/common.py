"""What the REST routers share: the 404 they document, and POST answering 201 with a new
record's Location."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response, status
from fastapi.types import DecoratedCallable

from api.shapes import ErrorOut

Responses = dict[int | str, dict[str, object]]
NOT_FOUND: Responses = {404: {"model": ErrorOut}}
CREATED_HEADERS = {
    "Location": {"description": "the new record's URL", "schema": {"type": "string"}}
}


def created(request: Request, response: Response, route: str, **params: int) -> None:
    """201 with `Location: <path of the new record>` (root path included)."""
    response.status_code = 201
    response.headers["Location"] = request.url_for(route, **params).path


def created_responses(description: str) -> Responses:
    """The 201 of an operation, documented with its Location header."""
    return {201: {"description": description, "headers": CREATED_HEADERS}}


def post_created(
    router: APIRouter, path: str, what: str, responses: Responses | None = None, **options: Any
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """`POST path` answering 201 with the new record (`what`, e.g. "the deal"), its URL in
    Location; `responses` documents the other answers."""
    return router.post(
        path,
        status_code=status.HTTP_201_CREATED,
        responses={**created_responses(f"{what}; Location is its URL"), **(responses or {})},
        **options,
    )

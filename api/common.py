"""What the REST routers share: the 404 they document, and 201 with a new record's Location."""

from __future__ import annotations

from fastapi import Request, Response

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

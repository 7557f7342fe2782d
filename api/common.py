"""What the REST routers that create records share: 201 with the new record's Location."""

from __future__ import annotations

from fastapi import Request, Response

Responses = dict[int | str, dict[str, object]]
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

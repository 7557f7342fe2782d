"""Pieces every REST router shares: documented error answers and the Location of a new record."""

from __future__ import annotations

from fastapi import Request, Response

from api.schemas import ErrorOut

Responses = dict[int | str, dict[str, object]]
NOT_FOUND: Responses = {404: {"model": ErrorOut, "description": "no such record (or not yours)"}}
CREATED_HEADERS = {
    "Location": {"description": "the new record's URL", "schema": {"type": "string"}}
}


def created(request: Request, response: Response, route: str, **params: int) -> None:
    """201 with `Location: <path of the new record>` (root path included)."""
    response.status_code = 201
    response.headers["Location"] = request.url_for(route, **params).path


def created_responses(description: str) -> Responses:
    return {201: {"description": description, "headers": CREATED_HEADERS}}

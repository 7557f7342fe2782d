"""REST API v1 (`/api/v1`, Bearer API key): the integration contract of DESIGN §5."""

from __future__ import annotations

from fastapi import APIRouter

from telephony_webhooks.api import activities, calls, companies, contacts, deals, users
from telephony_webhooks.api.schemas import ErrorOut


def router() -> APIRouter:
    api = APIRouter(
        prefix="/api/v1",
        responses={
            401: {"model": ErrorOut, "description": "no, unknown or revoked API key"},
            422: {"model": ErrorOut, "description": "invalid input; `field` names it"},
        },
    )
    for module in (contacts, companies, calls, activities, deals, users):
        api.include_router(module.router)
    return api

"""REST API v1 (`/api/v1`, Bearer API key): the integration contract of DESIGN §5."""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    return api

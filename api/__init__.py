"""REST API v1 (`/api/v1`, Bearer API key): the integration contract of DESIGN §5."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Security
from fastapi.security import HTTPBearer

from api import (
    activities,
    calls,
    companies,
    contacts,
    deals,
    document_search,
    documents,
    errors,
    imports,
    messages,
    reports,
    users,
)
from api.schemas import ErrorOut

VERSION = "0.5.0"  # the OpenAPI document's info.version; CHANGELOG.md says what changed

# Declares the scheme in OpenAPI (the "Authorize" button of /docs); the check itself is
# ActorDep on every route, which answers 401 with a reason.
bearer = HTTPBearer(auto_error=False, description="an API key from `perezvon api-keys create`")


def router() -> APIRouter:
    api = APIRouter(
        prefix="/api/v1",
        dependencies=[Security(bearer)],
        responses={
            401: {"model": ErrorOut, "description": "no, unknown or revoked API key"},
            403: {"model": ErrorOut, "description": "the key's role may not do this"},
            422: {
                "model": ErrorOut,
                "description": "invalid input: `errors` lists every problem with its field path",
            },
        },
    )
    for module in (
        contacts,
        companies,
        calls,
        activities,
        deals,
        users,
        reports,
        imports,
        messages,
    ):
        api.include_router(module.router)
    api.include_router(documents.router)
    api.include_router(document_search.router)
    return api


def install_error_handlers(app: FastAPI) -> None:
    """Domain errors and invalid requests as 4xx answers with a reason (the whole app's shape)."""
    errors.install(app)

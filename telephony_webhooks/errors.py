"""Domain errors and bad requests as HTTP answers with a reason; never a bare 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)


def _status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, Conflict):
        return 409
    return 422


async def domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    body: dict[str, object] = {"detail": exc.message}
    if isinstance(exc, Conflict) and exc.existing_id is not None:
        body["existing_id"] = exc.existing_id
    if isinstance(exc, InvalidInput) and exc.field:
        body["field"] = exc.field
    return JSONResponse(status_code=_status(exc), content=body)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    reasons = []
    for error in errors:
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        reasons.append(f"{location}: {error.get('msg', 'invalid')}")
    first = errors[0] if errors else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    return JSONResponse(
        status_code=422,
        content={"detail": "; ".join(reasons) or "invalid request", "field": field or None},
    )


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an outage: a JSON 500 in the app's error shape, and the traceback in the log."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)

"""Domain errors and bad requests as HTTP answers with a reason; never a bare 500.

A 422 lists every problem in `errors` (field path, where, message), keeps `detail` (all of
them, for people) and `field` (the first one); a body that is not JSON says so, with no field.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError

from core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied

log = logging.getLogger(__name__)
LOCATIONS = ("body", "query", "path", "header")


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
    if isinstance(exc, InvalidInput):
        body["field"] = exc.field or None
        body["errors"] = [{"field": exc.field or None, "location": None, "message": exc.message}]
    return JSONResponse(status_code=_status(exc), content=body)


def _problem(error: Any) -> dict[str, Any]:
    loc = [str(part) for part in error.get("loc", ())]
    location = loc[0] if loc and loc[0] in LOCATIONS else "body"
    path = ".".join(loc[1:] if loc and loc[0] in LOCATIONS else loc)
    if error.get("type") == "json_invalid":
        position = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = error.get("ctx", {}).get("error", "")
        message = f"the body is not valid JSON{position}" + (f" ({reason})" if reason else "")
        return {"field": None, "location": "body", "message": message}
    if error.get("type") == "missing" and not path and location == "body":
        return {"field": None, "location": "body", "message": "a JSON body is required"}
    message = error.get("msg", "invalid")
    if error.get("type") == "string_pattern_mismatch":
        value = str(error.get("input", ""))[:80]
        message = f"{value!r} has characters this field does not accept (see its pattern)"
    return {"field": path or None, "location": location, "message": message}


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(error) for error in exc.errors()]
    reasons = [
        f"{problem['field']}: {problem['message']}" if problem["field"] else problem["message"]
        for problem in problems
    ]
    return JSONResponse(
        status_code=422,
        content={
            "detail": "; ".join(reasons) or "invalid request",
            "field": problems[0]["field"] if problems else None,
            "errors": problems,
        },
    )


async def database_error(_request: Request, exc: Exception) -> JSONResponse:
    """Text the database cannot store is bad input; anything else is our failure, said in JSON."""
    if "0x00" in str(exc) or "CharacterNotInRepertoire" in str(exc):
        problem = {"field": None, "location": None, "message": "text contains U+0000 (NUL)"}
        return JSONResponse(
            status_code=422, content={"detail": problem["message"], "errors": [problem]}
        )
    log.error("database error", exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    """A bug or an outage: a JSON 500 in the app's error shape, and the traceback in the log."""
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(status_code=500, content={"detail": "internal error"})


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(DBAPIError, database_error)
    app.add_exception_handler(Exception, unexpected_error)

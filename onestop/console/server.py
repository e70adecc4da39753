"""The console's web server: the API, the page and its files, the reports, on uvicorn.

The page ships inside the package (no build step, nothing fetched at run time). Bodies over
256 KiB are refused with 413 before they are read whole; bad input gets a 4xx naming the
field (`Problem`), a command that does not fit the exercise's state a 409.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.console.api import router
from onestop.console.desk_api import router as desk_router
from onestop.console.desks import DeskProblem
from onestop.console.injector import InjectProblem
from onestop.console.models import FieldProblem, Problem
from onestop.console.service import ConsoleService, ControlError
from onestop.exercise.runner import ExerciseError
from schemas.refusals import AccessRefused

STATIC: Final = Path(__file__).resolve().parent / "static"
MAX_BODY: Final = 256 * 1024
_RUN_ID: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


class BodyLimit:
    """Refuse request bodies over `limit` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await _too_large(send, self.limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await _too_large(send, self.limit)


class _TooLarge(Exception):
    pass


async def _too_large(send: Send, limit: int) -> None:
    body = Problem(detail=f"the request body is over {limit // 1024} KiB").model_dump_json()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def _problem(status: int, detail: str, fields: list[FieldProblem] | None = None) -> JSONResponse:
    return JSONResponse(Problem(detail=detail, fields=fields or []).model_dump(), status)


def create_app(
    service: ConsoleService,
    *,
    start_service: bool = True,
    on_started: Callable[[ConsoleService], Awaitable[None]] | None = None,
) -> FastAPI:
    """The console app over `service` (started and stopped with the app); `on_started`
    runs once the service is up (an exercise started from the terminal)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if start_service:
            await service.start()
            if on_started is not None:
                await on_started(service)
        try:
            yield
        finally:
            if start_service:
                await service.stop()

    app = FastAPI(
        title="OneStop console",
        summary="Run, watch and steer an exchange exercise",
        version="1",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the documentation pages would load scripts from a CDN
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.include_router(router)
    app.include_router(desk_router)
    app.add_middleware(BodyLimit)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = [
            FieldProblem(
                field=".".join(str(p) for p in error["loc"] if p != "body") or None,
                message=str(error["msg"]),
            )
            for error in exc.errors()
        ]
        named = ", ".join(f.field or "(body)" for f in fields)
        return _problem(422, f"not valid: {named}", fields)

    @app.exception_handler(HTTPException)
    async def http_problem(request: Request, exc: HTTPException) -> JSONResponse:
        return _problem(exc.status_code, str(exc.detail))

    @app.exception_handler(InjectProblem)
    async def bad_inject(request: Request, exc: InjectProblem) -> JSONResponse:
        return _problem(422, exc.detail, exc.fields)

    @app.exception_handler(DeskProblem)
    async def bad_desk_message(request: Request, exc: DeskProblem) -> JSONResponse:
        return _problem(exc.status, exc.detail, exc.fields)

    @app.exception_handler(ControlError)
    @app.exception_handler(ExerciseError)
    async def conflict(request: Request, exc: Exception) -> JSONResponse:
        return _problem(409, str(exc))

    @app.exception_handler(KafkaError)
    async def kafka_down(request: Request, exc: KafkaError) -> JSONResponse:
        return _problem(503, f"Kafka did not answer: {exc}; try again")

    @app.exception_handler(AccessRefused)
    async def kafka_refused(request: Request, exc: AccessRefused) -> JSONResponse:
        return _problem(503, str(exc))  # the console's own login lacks a right

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/desk", include_in_schema=False)
    async def desk_page() -> FileResponse:
        return FileResponse(STATIC / "desk.html")

    @app.get("/reports/{run_id}/{name}", include_in_schema=False)
    async def report(run_id: str, name: str) -> FileResponse:
        if not _RUN_ID.match(run_id) or name not in ("report.html", "report.json"):
            raise HTTPException(404, "no such report")
        path = service.settings.reports / run_id / name
        if not path.is_file():
            raise HTTPException(404, f"the report of {run_id} is not written yet")
        return FileResponse(path)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def openapi_document(service: ConsoleService) -> dict[str, Any]:
    """The API's OpenAPI 3.1 document."""
    return create_app(service, start_service=False).openapi()

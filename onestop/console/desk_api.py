"""The trainee desks' HTTP API under `/api/desks`. A desk's code opens only its own desk:
it reads only its own party's requests and sends only as its own party (checked here, on
the server, for every request). Exercise control and observers see every desk."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse

from onestop.console.access import Grant
from onestop.console.api import Service, Who
from onestop.console.board import step_of
from onestop.console.desks import DeskAnswer, DeskOpening
from onestop.console.events import Event
from onestop.console.models import Desks, DeskSent, DeskView, Inspection, Role
from schemas.enums import Country

router = APIRouter(prefix="/api/desks", tags=["desks"])


def reader_of(party: Country, grant: Who) -> Grant:
    """Who may read `party`'s desk: its own desk, exercise control, an observer."""
    if grant.role is Role.DESK and grant.party is not party:
        mine = grant.party.value if grant.party else "?"
        raise HTTPException(403, f"the {mine} desk cannot read the {party.value} desk")
    return grant


def sender_for(party: Country, grant: Who) -> Grant:
    """Who may send as `party`: its own desk only."""
    if not grant.may_act_for(party):
        raise HTTPException(403, f"only the {party.value} desk sends as {party.value}")
    return grant


Reader = Annotated[Grant, Depends(reader_of)]
Sender = Annotated[Grant, Depends(sender_for)]


@router.get("", response_model=Desks)
async def desks(grant: Who, service: Service) -> Desks:
    """Every trainee desk of the running exercise: what it has waiting and how close to
    its limits (exercise control also gets the desks' codes)."""
    if grant.role is Role.DESK:
        raise HTTPException(403, "a desk sees its own desk only: /api/desks/<party>")
    return service.desks(with_codes=grant.can_steer)


@router.get("/{party}", response_model=DeskView, response_model_by_alias=True)
async def desk(party: Country, grant: Reader, service: Service) -> DeskView:
    """A desk's inbox (requests to it, soonest due first) and its own requests."""
    if party not in service.trainees():
        raise HTTPException(404, f"{party.value} is not played by a trainee in this exercise")
    return service.desk_view(party)


@router.get(
    "/{party}/requests/{request_id}", response_model=Inspection, response_model_by_alias=True
)
async def desk_request(
    party: Country, request_id: str, grant: Reader, service: Service
) -> Inspection:
    """One of the desk's requests: its steps and its messages as CloudEvents."""
    board = service.live.board
    entry = board.entries.get(request_id)
    if entry is None or party not in (entry.from_, entry.to):
        raise HTTPException(404, f"no request {request_id!r} at the {party.value} desk")
    steps = [step_of(p) for p in board.steps.get(request_id, [])]
    inputs = sorted({str(s.details["input"]) for s in steps if s.details.get("input")})
    raw = [r for r in [await service.live.raw_record(i) for i in inputs] if r is not None]
    return Inspection(request=entry, steps=steps, raw=raw)


@router.post("/{party}/answers", response_model=DeskSent, status_code=202)
async def answer(party: Country, action: DeskAnswer, grant: Sender, service: Service) -> DeskSent:
    """Answer a request: reply, partial reply, refusal (Art. 6(1) grounds), clarification
    request or reply, delay notice (Art. 5(2)), acknowledgement, Prüm hit / no-hit."""
    return await service.desk_answer(party, action)


@router.post("/{party}/requests", response_model=DeskSent, status_code=202)
async def open_request(
    party: Country, action: DeskOpening, grant: Sender, service: Service
) -> DeskSent:
    """Open a request (with the channel the desk chooses), send spontaneous information,
    or run a Prüm search or its follow-up."""
    return await service.desk_open(party, action)


@router.get("/{party}/events")
async def desk_events(
    party: Country,
    request: Request,
    grant: Reader,
    service: Service,
    last_id: Annotated[int | None, Query(ge=0)] = None,
) -> StreamingResponse:
    """Live updates of this desk only: the clock, its own requests, the exercise."""
    header = request.headers.get("last-event-id", "")
    since = int(header) if header.isdigit() else (last_id or 0)

    def mine(event: Event) -> bool:
        if event.kind == "request":
            return party.value in (event.data.get("from"), event.data.get("to"))
        return event.kind in ("clock", "exercise", "board", "reset")

    return StreamingResponse(
        service.events.follow(since, only=mine),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

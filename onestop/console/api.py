"""The console's HTTP API under `/api`: everything the page does, so that a trainer can
script an exercise. Roles are checked here, on the server: exercise control (trainer) may
change things and write observations; an observer only looks.

Bad input gets a 4xx that names the field; a command that does not fit the exercise's
state gets a 409 and changes nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse

from onestop.console.access import SESSION_COOKIE, Grant
from onestop.console.board import step_of
from onestop.console.models import (
    Board,
    EndExercise,
    ExerciseStatus,
    InjectAccepted,
    Inspection,
    Jump,
    Login,
    ManualInject,
    NewObservation,
    Observations,
    Pause,
    Preview,
    Resume,
    Role,
    ScenarioCheck,
    ScenarioInfo,
    ScenarioText,
    Session,
    SpeedChange,
    StartExercise,
    Status,
)
from onestop.console.runs import check_text, shipped_scenarios
from onestop.console.service import ConsoleService
from onestop.exercise.scenario import ScenarioError, load_scenario, parse_offset
from onestop.paths import EXERCISES_DIR
from schemas.clock import ClockAction
from schemas.enums import Channel, Country, MessageKind, Urgency
from schemas.observations import Observation


def service_of(request: Request) -> ConsoleService:
    """The console service of the app serving `request`."""
    service: ConsoleService = request.app.state.service
    return service


Service = Annotated[ConsoleService, Depends(service_of)]


def grant_of(request: Request, service: Service) -> Grant:
    """Who sent `request`: its session cookie or its bearer code; 401 otherwise."""
    header = request.headers.get("authorization", "")
    bearer = header[7:].strip() if header.lower().startswith("bearer ") else None
    grant = service.access.grant_of(request.cookies.get(SESSION_COOKIE), bearer)
    if grant is None:
        raise HTTPException(401, "log in with an access code the console printed")
    return grant


Who = Annotated[Grant, Depends(grant_of)]


def trainer(grant: Who) -> Grant:
    """Exercise control only; 403 for anyone else."""
    if not grant.can_steer:
        raise HTTPException(403, f"a {grant.role.value} may not do this: exercise control only")
    return grant


Trainer = Annotated[Grant, Depends(trainer)]


def overseer(grant: Who) -> Grant:
    """Exercise control or an observer: the whole exercise; a desk sees its own only."""
    if grant.role is Role.DESK:
        mine = grant.party.value if grant.party else "?"
        raise HTTPException(403, f"a desk sees its own requests only: /api/desks/{mine}")
    return grant


Overseer = Annotated[Grant, Depends(overseer)]

router = APIRouter(prefix="/api")


# ---- sessions ---------------------------------------------------------------------------------


@router.post("/session", response_model=Session, tags=["access"])
async def log_in(login: Login, response: Response, service: Service) -> Session:
    """Open a session with an access code: an HttpOnly, SameSite=Strict cookie."""
    opened = service.access.open_session(login.code)
    if opened is None:
        raise HTTPException(401, "that access code is not valid for this console")
    session, grant = opened
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict", path="/")
    return Session(role=grant.role, party=grant.party)


@router.get("/session", response_model=Session, tags=["access"])
async def who_am_i(grant: Who) -> Session:
    """The role of this session (or bearer code)."""
    return Session(role=grant.role, party=grant.party)


@router.delete("/session", status_code=204, tags=["access"])
async def log_out(request: Request, response: Response, service: Service) -> None:
    """Close this session."""
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        service.access.close_session(session)
    response.delete_cookie(SESSION_COOKIE, path="/")


# ---- watching ---------------------------------------------------------------------------------


@router.get("/status", response_model=Status, tags=["watch"])
async def status(grant: Who, service: Service) -> Status:
    """The exercise, its clock and the health of the links."""
    return service.status()


@router.get("/requests", response_model=Board, response_model_by_alias=True, tags=["watch"])
async def board(
    grant: Overseer,
    service: Service,
    party: Annotated[Country | None, Query(description="From or to this party")] = None,
    channel: Channel | None = None,
    urgency: Urgency | None = None,
    kind: MessageKind | None = None,
    settled: Annotated[bool, Query(description="Include settled requests")] = False,
) -> Board:
    """The deadline board: the running exercise's requests, soonest due first."""
    entries = list(service.live.board.entries.values()) if settled else None
    chosen = entries if entries is not None else service.live.board.open_entries()
    return Board(
        entries=[
            e
            for e in chosen
            if (party is None or party in (e.from_, e.to))
            and (channel is None or e.channel is channel)
            and (urgency is None or e.urgency is urgency)
            and (kind is None or e.kind is kind)
        ]
    )


@router.get(
    "/requests/{request_id}",
    response_model=Inspection,
    response_model_by_alias=True,
    tags=["watch"],
)
async def inspect(request_id: str, grant: Overseer, service: Service) -> Inspection:
    """One request's whole life from the audit trail, where each record sits on Kafka,
    and the records it came from as CloudEvents."""
    board = service.live.board
    entry = board.entries.get(request_id)
    if entry is None:
        raise HTTPException(404, f"no request {request_id!r} in the running exercise")
    placed = board.steps.get(request_id, [])
    steps = [step_of(p) for p in placed]
    inputs = sorted({str(s.details["input"]) for s in steps if s.details.get("input")})
    raw = [r for r in [await service.live.raw_record(i) for i in inputs] if r is not None]
    return Inspection(request=entry, steps=steps, raw=raw)


@router.get("/events", tags=["watch"])
async def events(
    request: Request,
    grant: Overseer,
    service: Service,
    last_id: Annotated[int | None, Query(ge=0, description="Or the Last-Event-ID header")] = None,
) -> StreamingResponse:
    """Live updates as server-sent events. A page that reconnects sends the id of the
    last event it saw and gets everything after it."""
    header = request.headers.get("last-event-id", "")
    # The browser's own reconnect sends the header: it knows better than the first URL.
    since = int(header) if header.isdigit() else (last_id or 0)
    return StreamingResponse(
        service.events.follow(since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/observations", response_model=Observations, tags=["watch"])
async def observations(grant: Overseer, service: Service) -> Observations:
    """The running exercise's observations, in the order written."""
    exercise = service.live.clock.exercise_id
    return Observations(
        observations=[o for o in service.live.observations if o.exercise_id == exercise]
    )


# ---- exercise control -------------------------------------------------------------------------


@router.get("/scenarios", response_model=list[ScenarioInfo], tags=["exercise"])
async def scenarios(grant: Who) -> list[ScenarioInfo]:
    """The scenarios that ship with OneStop."""
    return shipped_scenarios()


@router.post("/scenarios/check", response_model=ScenarioCheck, tags=["exercise"])
async def check_scenario(upload: ScenarioText, grant: Trainer) -> ScenarioCheck:
    """Check an uploaded scenario as `onestop exercise check` does: its problems with
    line and field."""
    return check_text(upload.text)[1]


@router.post("/exercise", response_model=ExerciseStatus, status_code=202, tags=["exercise"])
async def start_exercise(order: StartExercise, grant: Trainer, service: Service) -> ExerciseStatus:
    """Start a scenario (shipped, or uploaded as text); its hub and nodes start as
    `onestop exercise run` starts them."""
    if (order.scenario is None) == (order.text is None):
        raise HTTPException(422, "give either a shipped scenario's file name or a scenario's text")
    if order.scenario is not None:
        names = {info.file for info in shipped_scenarios()}
        if order.scenario not in names:
            raise HTTPException(404, f"no shipped scenario {order.scenario!r}; see /api/scenarios")
        try:
            scenario = load_scenario(EXERCISES_DIR / order.scenario)
        except ScenarioError as exc:
            raise HTTPException(422, str(exc)) from exc
    else:
        parsed, check = check_text(order.text or "")
        if parsed is None:
            lines = "; ".join(f"line {p.line}: {p.field}: {p.message}" for p in check.problems)
            raise HTTPException(422, f"the scenario is not valid: {lines}")
        scenario = parsed
    if service.runs.busy:
        raise HTTPException(409, "an exercise is already running; end it first")
    return service.runs.start(scenario, order.speed, order.seed)


@router.post("/exercise/end", response_model=ExerciseStatus, tags=["exercise"])
async def end_exercise(order: EndExercise, grant: Trainer, service: Service) -> ExerciseStatus:
    """End the running exercise now; the after-action report is then written."""
    await service.end(order.reason, grant.role.value)
    return service.runs.status


@router.post("/clock/pause", status_code=204, tags=["clock"])
async def pause(order: Pause, grant: Trainer, service: Service) -> None:
    """Stop exercise time (a briefing): deadlines and answers hold."""
    await service.steer(ClockAction.PAUSE, order.reason, grant.role.value)


@router.post("/clock/resume", status_code=204, tags=["clock"])
async def resume(order: Resume, grant: Trainer, service: Service) -> None:
    """Let exercise time run again."""
    await service.steer(ClockAction.RESUME, order.reason, grant.role.value)


@router.post("/clock/speed", status_code=204, tags=["clock"])
async def speed(order: SpeedChange, grant: Trainer, service: Service) -> None:
    """Change how fast exercise time runs."""
    await service.steer(ClockAction.SPEED, order.reason, grant.role.value, speed=order.speed)


@router.post("/clock/jump", status_code=204, tags=["clock"])
async def jump(order: Jump, grant: Trainer, service: Service) -> None:
    """Move exercise time forward at once (only while paused)."""
    seconds = _offset_seconds(order.by)
    await service.steer(ClockAction.JUMP, order.reason, grant.role.value, jump_seconds=seconds)


@router.get("/clock/preview/jump", response_model=Preview, tags=["clock"])
async def preview_jump(
    by: Annotated[str, Query(min_length=1, max_length=20)], grant: Overseer, service: Service
) -> Preview:
    """The open requests a jump would make overdue."""
    return service.preview_jump(_offset_seconds(by))


@router.get("/clock/preview/speed", response_model=Preview, tags=["clock"])
async def preview_speed(
    speed: Annotated[float, Query(gt=0, le=1_000_000)], grant: Overseer, service: Service
) -> Preview:
    """The open requests that would fall due within ten wall minutes at that speed."""
    return service.preview_speed(speed)


def _offset_seconds(text: str) -> float:
    try:
        return parse_offset(text).total_seconds()
    except ValueError as exc:
        raise HTTPException(422, f"by: {exc}") from exc


@router.post("/injects", response_model=InjectAccepted, status_code=202, tags=["exercise"])
async def inject(form: ManualInject, grant: Trainer, service: Service) -> InjectAccepted:
    """Send a message as a party, now, at an exercise time or after another request's
    outcome; checked as the hub and the scenario loader check it."""
    return service.inject(form)


@router.post("/observations", response_model=Observation, status_code=201, tags=["exercise"])
async def observe(note: NewObservation, grant: Overseer, service: Service) -> Observation:
    """Write an observation, stamped with exercise and wall time (exercise control and
    observers take notes; a note changes nothing in the exercise)."""
    return await service.observe(note, grant.role.value)

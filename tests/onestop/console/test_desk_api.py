"""A trainee at the PL desk, through the API alone (the browser test does the same by
hand): the desk answers one request before its limit, refuses another on ground (f), asks
for a clarification on a third, lets a fourth go overdue and opens a request of its own on
the channel it chose; the report's PL section shows exactly that. A desk's code opens only
its own desk, and a wrong message is refused field by field with nothing sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.onestop.console.conftest import RunningConsole

SPEED = 1200  # twenty exercise minutes a wall second: the 8-hour limit in 24 s


async def until(check: Callable[[], Any], what: str, seconds: float = 90.0) -> Any:
    """Poll `check` (a coroutine function) until it returns something true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        found = await check()
        if found:
            return found
        assert loop.time() < deadline, f"never: {what}"
        await asyncio.sleep(0.25)


@pytest.fixture
async def trainer(console: RunningConsole) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {console.trainer_code}"}
    async with httpx.AsyncClient(base_url=console.url, timeout=30, headers=headers) as client:
        yield client


async def test_a_trainee_works_the_pl_desk_and_the_report_assesses_it(
    console: RunningConsole, trainer: httpx.AsyncClient
) -> None:
    started = await trainer.post(
        "/api/exercise", json={"scenario": "spoc_desk_training.yaml", "speed": SPEED}
    )
    assert started.status_code == 202, started.text

    async def pl_code() -> str | None:
        desks = (await trainer.get("/api/desks")).json().get("desks", [])
        return next((d["code"] for d in desks if d["party"] == "PL" and d["code"]), None)

    code = await until(pl_code, "a code for the PL desk")
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as desk:
        login = await desk.post("/api/session", json={"code": code})
        assert login.json() == {"role": "desk", "party": "PL"}
        await _refusals(desk)

        async def four_waiting() -> dict[str, Any] | None:
            view = (await desk.get("/api/desks/PL")).json()
            return view if len(view["inbox"]) >= 4 else None

        view = await until(four_waiting, "four requests at the PL desk")
        ids = {entry["name"]: entry["request_id"] for entry in view["inbox"]}
        assert set(ids) == {
            "urgent-vehicle",
            "undercover-operation",
            "vague-request",
            "urgent-arrest",
        }

        async def send(action: dict[str, Any]) -> dict[str, Any]:
            response = await desk.post("/api/desks/PL/answers", json=action)
            assert response.status_code == 202, response.text
            sent: dict[str, Any] = response.json()
            return sent

        groundless = await desk.post(
            "/api/desks/PL/answers",
            json={"request_id": ids["undercover-operation"], "kind": "refusal"},
        )
        assert groundless.status_code == 422, groundless.text
        assert [f["field"] for f in groundless.json()["fields"]] == ["grounds"]
        as_requester = await desk.post(
            "/api/desks/PL/answers",
            json={"request_id": ids["vague-request"], "kind": "clarification_reply", "answer": "x"},
        )
        assert as_requester.status_code == 403  # SE clarifies its own request, not PL

        await send({"request_id": ids["urgent-vehicle"], "kind": "acknowledgement"})
        await send({"request_id": ids["urgent-vehicle"], "kind": "reply",
                    "information": "Keeper: a leasing company in Warsaw"})  # fmt: skip
        await send({"request_id": ids["undercover-operation"], "kind": "refusal",
                    "grounds": ["f_national_security_investigation_safety"],
                    "explanation": "a running investigation"})  # fmt: skip
        await send({"request_id": ids["vague-request"], "kind": "clarification_request",
                    "question": "Which man, which ferry, which day?"})  # fmt: skip
        opened = await desk.post(
            "/api/desks/PL/requests",
            json={
                "to": "LT",
                "subject": "Earlier keepers of WPR 4410X",
                "channel": "interpol_i247",
            },
        )
        assert opened.status_code == 202, opened.text

        async def arrest_overdue() -> bool:
            view = (await desk.get("/api/desks/PL")).json()
            entry = next(e for e in view["inbox"] if e["name"] == "urgent-arrest")
            return bool(entry["overdue"])

        await until(arrest_overdue, "the forgotten urgent request falls overdue")

    ended = await trainer.post("/api/exercise/end", json={"reason": "the training is over"})
    assert ended.status_code == 200

    async def report() -> str | None:
        status = (await trainer.get("/api/status")).json()["exercise"]
        assert status["phase"] != "failed", status
        return status["report"] if status["phase"] == "ended" else None

    path = await until(report, "the report", seconds=120)
    built = json.loads((await trainer.get(path.replace("report.html", "report.json"))).text)
    (section,) = built["desks"]
    assert section["party"] == "PL"
    assert (section["received"], section["answered"], section["refused"]) == (4, 1, 1)
    assert section["overdue"] == 1 and section["clarifications_asked"] == 1
    assert section["refusals_by_ground"] == {"f_national_security_investigation_safety": 1}
    assert section["deviations"] == 1 and section["missing_urgency_reasons"] == 1
    (own,) = section["opened"]
    assert (own["to"], own["channel"], own["requested_channel"]) == ("LT", "siena", "interpol_i247")
    outcomes = {r["request_id"].rsplit(".", 1)[1]: r["outcome"] for r in section["requests"]}
    assert outcomes == {
        "urgent-vehicle": "answered",
        "undercover-operation": "refused",
        "vague-request": "open",
        "urgent-arrest": "overdue",
    }
    on_time = {r["request_id"].rsplit(".", 1)[1]: r["on_time"] for r in section["requests"]}
    assert on_time["urgent-vehicle"] and not on_time["urgent-arrest"]
    page = (await trainer.get(path)).text
    assert "Desk PL (trainee)" in page


async def _refusals(desk: httpx.AsyncClient) -> None:
    """What the PL desk may not do, each refused with nothing sent."""
    before = (await desk.get("/api/desks/PL")).json()
    checks = {
        "DE's desk": (await desk.get("/api/desks/DE")).status_code,
        "DE's inbox events": (await desk.get("/api/desks/DE/events")).status_code,
        "send as DE": (
            await desk.post("/api/desks/DE/requests", json={"to": "LT", "subject": "x"})
        ).status_code,
        "the whole board": (await desk.get("/api/requests")).status_code,
        "exercise control": (await desk.post("/api/clock/pause", json={"reason": "x"})).status_code,
    }
    assert checks == dict.fromkeys(checks, 403)

    async def problem(path: str, body: dict[str, Any]) -> list[str | None]:
        response = await desk.post(path, json=body)
        assert response.status_code == 422, response.text
        return [f["field"] for f in response.json()["fields"]]

    assert await problem("/api/desks/PL/requests", {"to": "LT", "urgency": "urgent"}) == [
        "urgency_reason"
    ]
    assert await problem("/api/desks/PL/requests", {"to": "US", "subject": "x"}) == ["to"]
    assert (
        await desk.post("/api/desks/PL/requests", json={"to": "ATLANTIS"})
    ).status_code == 422  # not a party at all
    after = (await desk.get("/api/desks/PL")).json()
    assert after["outgoing"] == before["outgoing"] == []

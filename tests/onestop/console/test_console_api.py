"""The console's HTTP API on a real console and broker: roles are enforced on the server,
every kind of bad input gets a 4xx naming what was wrong and changes nothing, and the
OpenAPI document is valid and describes the routes there are."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from onestop.console.server import MAX_BODY
from tests.onestop.console.conftest import RunningConsole

REASON = {"reason": "api test"}


@pytest.fixture
async def trainer(console: RunningConsole) -> AsyncIterator[httpx.AsyncClient]:
    """A trainer's session (cookie)."""
    async with httpx.AsyncClient(base_url=console.url, timeout=30) as client:
        response = await client.post("/api/session", json={"code": console.trainer_code})
        assert response.status_code == 200, response.text
        yield client


@pytest.fixture
async def observer(console: RunningConsole) -> AsyncIterator[httpx.AsyncClient]:
    """An observer, by bearer code rather than a session."""
    headers = {"Authorization": f"Bearer {console.observer_code}"}
    async with httpx.AsyncClient(base_url=console.url, timeout=30, headers=headers) as client:
        yield client


async def running_exercise(trainer: httpx.AsyncClient) -> dict[str, Any]:
    """Start the Baltic drill slowly (nothing settles during the test) and wait until its
    clock runs."""
    started = await trainer.post(
        "/api/exercise", json={"scenario": "baltic_siena_drill.yaml", "speed": 60}
    )
    assert started.status_code == 202, started.text
    for _ in range(300):
        status: dict[str, Any] = (await trainer.get("/api/status")).json()
        if status["exercise"]["phase"] == "running" and not status["clock"]["paused"]:
            return status
        assert status["exercise"]["phase"] != "failed", status["exercise"]
        await asyncio.sleep(0.2)
    raise AssertionError("the exercise did not start")


async def test_codes_and_roles_are_checked_on_the_server(
    console: RunningConsole, trainer: httpx.AsyncClient, observer: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=console.url) as anonymous:
        assert (await anonymous.get("/api/status")).status_code == 401
        wrong = await anonymous.post("/api/session", json={"code": "AAAA-BBBB-CCCC"})
        assert wrong.status_code == 401 and "not valid" in wrong.json()["detail"]
        bad_bearer = await anonymous.get(
            "/api/status", headers={"Authorization": "Bearer AAAA-BBBB-CCCC"}
        )
        assert bad_bearer.status_code == 401

    assert (await observer.get("/api/session")).json() == {"role": "observer", "party": None}
    assert (await observer.get("/api/status")).status_code == 200
    assert (await observer.get("/api/requests")).status_code == 200
    refused = {
        "pause": await observer.post("/api/clock/pause", json=REASON),
        "inject": await observer.post("/api/injects", json={"from": "LT", "to": "PL"}),
        "start": await observer.post("/api/exercise", json={"scenario": "x.yaml"}),
        "end": await observer.post("/api/exercise/end", json=REASON),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)
    assert "exercise control only" in refused["pause"].json()["detail"]
    # An observer takes notes (they change nothing); with no exercise they belong to none.
    noted = await observer.post("/api/observations", json={"text": "quiet start"})
    assert noted.status_code == 201 and noted.json()["author"] == "observer"

    session = await trainer.get("/api/session")
    assert session.json()["role"] == "trainer"
    cookie = session.request.headers.get("cookie", "")
    assert cookie.startswith("onestop_session=")


async def test_bad_input_gets_a_4xx_that_names_it_and_changes_nothing(
    trainer: httpx.AsyncClient,
) -> None:
    # Before any exercise: nothing to steer.
    idle = await trainer.post("/api/clock/pause", json=REASON)
    assert idle.status_code == 409 and "no exercise is running" in idle.json()["detail"]

    status = await running_exercise(trainer)
    run_id = status["exercise"]["run_id"]
    cases = {
        "malformed JSON": await trainer.post(
            "/api/clock/pause", content=b"{not json", headers={"content-type": "application/json"}
        ),
        "missing reason": await trainer.post("/api/clock/pause", json={}),
        "unknown field": await trainer.post("/api/clock/pause", json={**REASON, "extra": 1}),
        "invalid enum": await trainer.post(
            "/api/injects", json={"from": "LT", "to": "XX", "subject": "s"}
        ),
        "speed out of range": await trainer.post("/api/clock/speed", json={**REASON, "speed": 0}),
        "jump while running": await trainer.post("/api/clock/jump", json={**REASON, "by": "1d"}),
        "bad jump offset": await trainer.get("/api/clock/preview/jump?by=tomorrow"),
        "unknown request": await trainer.get(f"/api/requests/{run_id}.no-such-request"),
        "unknown scenario": await trainer.post("/api/exercise", json={"scenario": "nope.yaml"}),
        "second exercise": await trainer.post(
            "/api/exercise", json={"scenario": "baltic_siena_drill.yaml"}
        ),
        "urgent without reason": await trainer.post(
            "/api/injects", json={"from": "LT", "to": "PL", "urgency": "urgent", "subject": "s"}
        ),
        "party not in exercise": await trainer.post(
            "/api/injects", json={"from": "LT", "to": "US", "subject": "s"}
        ),
        "oversize body": await trainer.post(
            "/api/observations",
            content=json.dumps({"text": "x" * (MAX_BODY + 10)}).encode(),
            headers={"content-type": "application/json"},
        ),
    }
    expected = {
        "malformed JSON": 422,
        "missing reason": 422,
        "unknown field": 422,
        "invalid enum": 422,
        "speed out of range": 422,
        "jump while running": 409,
        "bad jump offset": 422,
        "unknown request": 404,
        "unknown scenario": 404,
        "second exercise": 409,
        "urgent without reason": 422,
        "party not in exercise": 422,
        "oversize body": 413,
    }
    assert {name: r.status_code for name, r in cases.items()} == expected
    for name, response in cases.items():
        assert response.json()["detail"], name  # a sentence for a person, never empty
    assert "reason" in cases["missing reason"].json()["detail"]
    assert "extra" in cases["unknown field"].json()["detail"]
    assert "to" in cases["invalid enum"].json()["detail"]
    assert "pause first" in cases["jump while running"].json()["detail"]
    urgent = cases["urgent without reason"].json()
    assert [f["field"] for f in urgent["fields"]] == ["urgency_reason"]
    assert cases["party not in exercise"].json()["fields"][0]["field"] == "to"

    # Nothing was applied: the clock still runs at the scenario's speed, no inject is known.
    after = (await trainer.get("/api/status")).json()
    assert (after["clock"]["paused"], after["clock"]["speed"]) == (False, 60.0)
    board = (await trainer.get("/api/requests?settled=true")).json()["entries"]
    assert not [e for e in board if e["name"].startswith("manual")]

    # A well-formed pause, then a jump, then the clock is right where it was told to be.
    assert (await trainer.post("/api/clock/pause", json=REASON)).status_code == 204
    preview = await trainer.get("/api/clock/preview/jump?by=8d")
    assert preview.status_code == 200 and preview.json()["change"] == "jump 691200 s"
    assert (
        await trainer.post("/api/clock/jump", json={**REASON, "by": "02:00"})
    ).status_code == 204
    ended = await trainer.post("/api/exercise/end", json=REASON)
    assert ended.status_code == 200


async def test_the_openapi_document_is_valid_and_matches_the_routes(
    trainer: httpx.AsyncClient,
) -> None:
    document = (await trainer.get("/api/openapi.json")).json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    served = {
        ("/api/session", "POST"), ("/api/session", "GET"), ("/api/session", "DELETE"),
        ("/api/status", "GET"), ("/api/requests", "GET"), ("/api/requests/{request_id}", "GET"),
        ("/api/events", "GET"), ("/api/observations", "GET"), ("/api/observations", "POST"),
        ("/api/scenarios", "GET"), ("/api/scenarios/check", "POST"), ("/api/exercise", "POST"),
        ("/api/exercise/end", "POST"), ("/api/clock/pause", "POST"),
        ("/api/clock/resume", "POST"), ("/api/clock/speed", "POST"), ("/api/clock/jump", "POST"),
        ("/api/clock/preview/jump", "GET"), ("/api/clock/preview/speed", "GET"),
        ("/api/injects", "POST"), ("/api/desks", "GET"), ("/api/desks/{party}", "GET"),
        ("/api/desks/{party}/events", "GET"), ("/api/desks/{party}/requests", "POST"),
        ("/api/desks/{party}/requests/{request_id}", "GET"),
        ("/api/desks/{party}/answers", "POST"),
    }  # fmt: skip
    assert documented == served
    manual = document["components"]["schemas"]["ManualInject"]["properties"]
    assert {"from", "to", "urgency_reason", "when"} <= set(manual)  # the wire's own names


async def test_an_uploaded_scenario_is_checked_with_line_and_field(
    trainer: httpx.AsyncClient,
) -> None:
    text = "name: broken\nclock:\n  start: 2026-01-01T00:00:00Z\n  end: soon\nnodes: {PL: {}}\n"
    check = (await trainer.post("/api/scenarios/check", json={"text": text})).json()
    assert check["ok"] is False
    assert check["problems"][0]["line"] == 4
    assert check["problems"][0]["field"] == "clock.end"
    refused = await trainer.post("/api/exercise", json={"text": text})
    assert refused.status_code == 422 and "clock.end" in refused.json()["detail"]

"""A trainee at the PL desk in a real browser (headless Chromium), against a real console and
Kafka, with the other parties simulated: exercise control starts the SPOC desk training from
its console and reads the PL desk's code off its trainee desks panel; the trainee logs in at
/desk, sees the four requests arrive, watches their countdowns freeze while exercise control
pauses, answers one before its limit, refuses another on Art. 6(1)(f) after the console named
the missing ground, asks for a clarification on a third and reads the answer, lets the fourth
go overdue, and opens a request of its own on the channel it chose (after the console named
the missing urgency reason). The report's PL section shows exactly those outcomes, and
neither page fetched anything from anywhere but the console.

Screenshots go under the test's tmp_path; with ONESTOP_SCREENSHOTS=docs the desk and the
trainer's console are written to docs/desk.png and docs/console.png (1366x768) instead."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.onestop.console.conftest import RunningConsole
from tests.onestop.console.test_console_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    LAPTOP,
    Watched,
    tagged,
)

SPEED = 1200  # twenty exercise minutes a wall second: the 8-hour urgent limit in 24 s
REPO = Path(__file__).resolve().parents[3]
SCREENSHOTS_ENV = "ONESTOP_SCREENSHOTS"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package",
)


def screenshot_dir(tmp_path: Path) -> Path:
    """Where the screenshots go: docs/ when asked for (ONESTOP_SCREENSHOTS=docs, or another
    directory), else the test's own tmp_path."""
    wanted = os.environ.get(SCREENSHOTS_ENV, "").strip()
    if not wanted:
        return tmp_path
    directory = Path(wanted) if Path(wanted).is_absolute() else REPO / wanted
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture
async def chromium() -> AsyncIterator[Browser]:
    """Headless Chromium from the system's package (nothing downloaded)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


def inbox_row(page: Page, name: str) -> str:
    return f'{tagged("inbox-row")}[data-name="{name}"]'


async def countdown_text(page: Page, name: str) -> str:
    cell = page.locator(f"{inbox_row(page, name)} {tagged('countdown')}")
    return (await cell.inner_text()).split("\n")[0]


async def open_request(page: Page, name: str) -> None:
    """Open `name` from the inbox and wait until its message has been read back."""
    await page.locator(inbox_row(page, name)).locator(tagged("open-request")).click()
    detail = page.locator(tagged("request-detail"))
    await expect(detail.locator(tagged("detail-name"))).to_contain_text(name)
    await expect(detail.locator(tagged("detail-subject"))).not_to_have_text("reading the message…")


async def answer(page: Page, kind: str) -> None:
    """Choose answer `kind`, send it, and wait for the console to take it."""
    await page.check(tagged(f"answer-kind-{kind}"))
    await page.click(tagged("answer-submit"))
    result = page.locator(tagged("answer-result"))
    await expect(result).to_be_visible()
    await expect(result).to_have_attribute("data-kind", kind)


async def confirm(page: Page, name: str, reason: str) -> None:
    """Open the trainer's `name` dialog from its button, give the reason, confirm."""
    await page.click(tagged(f"clock-{name}" if name != "end" else "exercise-end"))
    dialog = page.locator(tagged(f"{name}-dialog"))
    await expect(dialog).to_be_visible()
    await dialog.locator(tagged(f"{name}-reason")).fill(reason)
    await dialog.locator(tagged(f"{name}-confirm")).click()
    await expect(dialog).to_be_hidden(timeout=15_000)


async def test_a_trainee_works_the_pl_desk_in_the_browser(
    console: RunningConsole, chromium: Browser, tmp_path: Path
) -> None:
    began = time.monotonic()
    shots = screenshot_dir(tmp_path)
    fetched: list[str] = []

    # Exercise control starts the training from its console.
    trainer_context = await chromium.new_context(viewport=LAPTOP)
    trainer_context.on("request", lambda request: fetched.append(request.url))
    trainer = await trainer_context.new_page()
    trainer_watched = Watched(trainer)
    await trainer.goto(console.url)
    await trainer.fill(tagged("login-code"), console.trainer_code)
    await trainer.click(tagged("login-submit"))
    await expect(trainer.locator(tagged("role"))).to_have_text("Exercise control")
    await trainer.locator(tagged("scenario-picker")).select_option("spoc_desk_training.yaml")
    await trainer.fill(tagged("start-speed"), str(SPEED))
    await trainer.click(tagged("exercise-start"))
    await expect(trainer.locator(tagged("run-state"))).to_have_text("Running", timeout=90_000)

    # The trainee desks panel marks PL and shows its code (to exercise control only).
    card = trainer.locator(f'{tagged("desk-card")}[data-party="PL"]')
    await expect(card.locator(tagged("desk-code"))).to_be_visible(timeout=30_000)
    code = (await card.locator(tagged("desk-code")).inner_text()).strip()
    await expect(trainer.locator(f'{tagged("health-node")}[data-party="PL"]')).to_have_text(
        "PL desk"
    )

    # The trainee logs in at /desk with that code and sees the four requests arrive.
    desk_context = await chromium.new_context(viewport=LAPTOP)
    desk_context.on("request", lambda request: fetched.append(request.url))
    desk = await desk_context.new_page()
    desk_watched = Watched(desk)
    await desk.goto(f"{console.url}/desk")
    await expect(desk.locator(tagged("login-view"))).to_be_visible()
    await desk.fill(tagged("login-code"), code)
    await desk.click(tagged("login-submit"))
    await expect(desk.locator(tagged("desk-party"))).to_have_text("PL desk")
    await expect(desk.locator(tagged("live-indicator"))).to_have_text("Live")
    await expect(desk.locator(tagged("inbox-row"))).to_have_count(4, timeout=30_000)
    names = {
        await row.get_attribute("data-name")
        for row in await desk.locator(tagged("inbox-row")).all()
    }
    assert names == {"urgent-vehicle", "undercover-operation", "vague-request", "urgent-arrest"}
    await expect(desk.locator(f"{tagged('notification')}[data-kind=arrived]").first).to_be_visible()
    await expect(desk.locator(tagged("desk-waiting"))).to_have_text("4")
    await expect(card.locator(tagged("desk-waiting"))).to_have_text("4")

    # Countdowns run with exercise time, and hold while exercise control pauses.
    before = await countdown_text(desk, "urgent-arrest")
    await asyncio.sleep(0.6)
    assert await countdown_text(desk, "urgent-arrest") != before, f"it stood still at {before}"
    await confirm(trainer, "pause", "the trainee reads the instructions")
    await expect(desk.locator(tagged("run-state"))).to_have_text("Paused")
    await expect(desk.locator(tagged("desk-banner"))).to_have_attribute("data-state", "paused")
    frozen = await countdown_text(desk, "urgent-arrest")
    clock = await desk.locator(tagged("exercise-time")).inner_text()
    await asyncio.sleep(1.0)
    assert await countdown_text(desk, "urgent-arrest") == frozen
    assert await desk.locator(tagged("exercise-time")).inner_text() == clock
    assert (
        "paused"
        in await desk.locator(
            f"{inbox_row(desk, 'urgent-arrest')} {tagged('countdown')}"
        ).inner_text()
    )
    await confirm(trainer, "resume", "instructions read")
    await expect(desk.locator(tagged("run-state"))).to_have_text("Running")

    # The urgent vehicle check: acknowledged, then answered before its limit.
    await open_request(desk, "urgent-vehicle")
    await expect(desk.locator(tagged("request-detail"))).to_contain_text("WPR 4410X")
    await expect(desk.locator(tagged("request-detail"))).to_contain_text("Audit trail (1 record)")
    await answer(desk, "acknowledgement")
    await desk.check(tagged("answer-kind-reply"))
    await desk.fill(tagged("answer-information"), "Keeper: a leasing company in Warsaw")
    await answer(desk, "reply")
    vehicle = desk.locator(inbox_row(desk, "urgent-vehicle"))
    await expect(vehicle.locator(tagged("entry-state"))).to_have_text("answered")
    await expect(desk.locator(tagged("answer-none"))).to_contain_text("settled")

    # The request touching an undercover operation: a refusal needs its ground.
    await open_request(desk, "undercover-operation")
    await desk.check(tagged("answer-kind-refusal"))
    await desk.click(tagged("answer-submit"))
    missing = desk.locator(f"{tagged('field-error')}[data-field=grounds]")
    await expect(missing).to_contain_text("Art. 6(1)")
    await expect(desk.locator(tagged("answer-error"))).to_contain_text("Nothing was sent")
    await desk.check(tagged("ground-f"))
    await desk.fill(tagged("answer-explanation"), "a running investigation")
    await answer(desk, "refusal")
    await expect(missing).to_have_count(0)
    undercover = desk.locator(inbox_row(desk, "undercover-operation"))
    await expect(undercover.locator(tagged("entry-state"))).to_have_text("refused")

    # The vague request: a clarification stops its clock; SE's answer comes back.
    await open_request(desk, "vague-request")
    await desk.check(tagged("answer-kind-clarification_request"))
    await desk.fill(tagged("answer-question"), "Which man, which ferry, which day?")
    await answer(desk, "clarification_request")
    clarified = desk.locator(f"{tagged('notification')}[data-kind=clarification]")
    await expect(clarified).to_have_count(1, timeout=30_000)
    await expect(clarified).to_contain_text("SE clarified vague-request")

    # A request of its own: urgent needs its reason; then on the channel the trainee chose.
    await desk.click(tagged("tab-request"))
    await desk.select_option(tagged("request-to"), "LT")
    await desk.select_option(tagged("request-urgency"), "urgent")
    await desk.fill(tagged("request-subject"), "Earlier keepers of WPR 4410X")
    await desk.click(tagged("request-submit"))
    no_reason = desk.locator(f"{tagged('field-error')}[data-field=urgency_reason]")
    await expect(no_reason).to_contain_text("Art. 4")
    await desk.select_option(tagged("request-urgency"), "non_urgent")
    await desk.select_option(tagged("request-channel"), "interpol_i247")
    await desk.click(tagged("request-submit"))
    sent = desk.locator(f"{tagged('panel-request')} {tagged('form-result')}")
    await expect(sent).to_contain_text("Interpol I-24/7")
    await expect(no_reason).to_have_count(0)
    own = desk.locator(tagged("outgoing-row"))
    await expect(own).to_have_count(1, timeout=30_000)
    await expect(own.locator(tagged("entry-channel"))).to_contain_text("SIENA")
    await expect(own.locator(tagged("deviation"))).to_contain_text("you chose Interpol I-24/7")
    answered = desk.locator(f"{tagged('notification')}[data-kind=answered]")
    await expect(answered).to_contain_text("LT answered", timeout=30_000)

    # The clarification SE gave is on the request's page.
    await open_request(desk, "vague-request")
    reply = desk.locator(f"{tagged('detail-message')}[data-kind=clarification_reply]")
    await expect(reply).to_have_count(1)
    await expect(reply).to_contain_text("SE → PL")

    # The forgotten urgent request: its countdown colours past 80 %, then it falls overdue.
    arrest = desk.locator(inbox_row(desk, "urgent-arrest"))
    await expect(arrest).to_have_attribute("data-level", "late", timeout=30_000)
    await open_request(desk, "urgent-arrest")
    await expect(desk.locator(tagged("detail-countdown"))).to_have_attribute("data-level", "late")
    await desk.screenshot(path=str(shots / "desk.png"))
    await expect(arrest).to_have_attribute("data-level", "overdue", timeout=30_000)
    await expect(arrest.locator(tagged("overdue"))).to_be_visible()
    overdue = desk.locator(f"{tagged('notification')}[data-kind=overdue]")
    await expect(overdue).to_contain_text("urgent-arrest")
    await expect(card.locator(tagged("desk-overdue"))).to_have_text("1", timeout=20_000)
    await expect(card).to_have_attribute("data-level", "overdue")
    # Exercise control sees the whole board, and the finding the console noted at the desk.
    await trainer.check(tagged("filter-settled"))
    await expect(trainer.locator(tagged("board-row"))).to_have_count(5)
    await trainer.click(tagged("tab-observations"))
    finding = trainer.locator(tagged("observation-finding"))
    await expect(finding).to_have_text("missing urgency reason")
    await trainer.screenshot(path=str(shots / "console.png"))

    # Exercise control ends the exercise; the desk closes its forms.
    await confirm(trainer, "end", "the training is over")
    await expect(desk.locator(tagged("desk-banner"))).to_have_attribute("data-state", "ended")
    await expect(desk.locator(tagged("request-submit"))).to_be_disabled()
    link = trainer.locator(tagged("report-link"))
    await expect(link).to_be_visible(timeout=120_000)
    href = await link.get_attribute("href")
    assert href is not None and href.endswith("/report.html")

    # The report's PL section: exactly what the trainee did.
    href = href if href.startswith("http") else f"{console.url}{href}"
    got = await trainer.request.get(href.replace("report.html", "report.json"))
    built = json.loads(await got.text())
    (section,) = built["desks"]
    assert section["party"] == "PL"
    assert (section["received"], section["answered"], section["refused"]) == (4, 1, 1)
    assert section["overdue"] == 1 and section["clarifications_asked"] == 1
    assert section["refusals_by_ground"] == {"f_national_security_investigation_safety": 1}
    assert section["deviations"] == 1 and section["missing_urgency_reasons"] == 1
    (opened,) = section["opened"]
    assert (opened["to"], opened["channel"], opened["requested_channel"]) == (
        "LT",
        "siena",
        "interpol_i247",
    )
    outcomes = {r["request_id"].rsplit(".", 1)[1]: r["outcome"] for r in section["requests"]}
    assert outcomes == {
        "urgent-vehicle": "answered",
        "undercover-operation": "refused",
        "vague-request": "open",
        "urgent-arrest": "overdue",
    }
    on_time = {r["request_id"].rsplit(".", 1)[1]: r["on_time"] for r in section["requests"]}
    assert on_time["urgent-vehicle"] and not on_time["urgent-arrest"]
    report = await trainer_context.new_page()
    await report.goto(href)
    await expect(report.locator("body")).to_contain_text("Desk PL (trainee)")

    assert trainer_watched.errors == [], trainer_watched.errors
    assert desk_watched.errors == [], desk_watched.errors
    # Everything either page fetched came from the console itself: no CDN, no web fonts.
    assert [url for url in fetched if not url.startswith(console.url)] == []
    assert any(url.startswith(f"{console.url}/api/desks/PL") for url in fetched)
    await desk_context.close()
    await trainer_context.close()
    print(f"desk browser test: {time.monotonic() - began:.0f} s; screenshots in {shots}")

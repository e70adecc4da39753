"""The trainer's console in a real browser (headless Chromium), against a real console and
Kafka: log in as exercise control, start the Baltic drill, watch a countdown move, pause
(it freezes), preview a jump and a speed change, resume, send a manual inject and see it on
the board, inspect it, write an observation, let an observer watch at the same time, end the
exercise and open the report where the observation appears. The page fetches nothing from
anywhere but the console.

Every step leaves a screenshot under the test's tmp_path (their paths are printed)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Route,
    ViewportSize,
    async_playwright,
    expect,
)

from onestop.console.server import STATIC
from tests.onestop.console.conftest import RunningConsole

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
FULL_HD: ViewportSize = {"width": 1920, "height": 1080}
SPEED = 600  # ten exercise minutes per wall second: the drill's 8 days in 19 minutes
FASTER = 900
OBSERVATION = "LT asked for the van's owner without giving the plate number"
# The browser reports every 4xx answer as "Failed to load resource": the page expects some
# (the 401 that tells it to show the login, a 422 the test provokes), and shows them.
NETWORK_NOTE = "Failed to load resource: the server responded with a status of 4"

BROKEN_SCENARIO = """\
name: Broken drill
clock:
  start: 2026-03-02T08:00:00Z
  end: 1d
nodes:
  LT: {}
  PL: {}
injects:
  - id: one
    at: "00:20"
    from: LT
    to: XX
"""

# Drives the board's and the clock's pure functions with made-up requests (exercise time
# 12:00; an 8-hour limit), and returns what they make of them.
LEVELS_SCRIPT = """async () => {
  const { levelOf, timeLeft } = await import("/static/console-board.js");
  const { countdown, exerciseNow } = await import("/static/console-time.js");
  const now = Date.parse("2026-03-02T12:00:00Z");
  const at = (hours) => new Date(now + hours * 3600000).toISOString();
  const entry = (over) => ({
    limit_seconds: 8 * 3600, deadline: null, remaining_seconds: null, overdue: false,
    settled_at: null, ...over,
  });
  const cases = {
    fresh: entry({ deadline: at(6) }),
    half: entry({ deadline: at(3) }),
    late: entry({ deadline: at(1) }),
    overdue: entry({ deadline: at(-0.5) }),
    flagged: entry({ deadline: at(2), overdue: true }),
    stopped: entry({ remaining_seconds: 3600 }),
    none: entry({ limit_seconds: null }),
    settled: entry({ deadline: at(2), settled_at: at(-1) }),
  };
  const levels = Object.fromEntries(
    Object.entries(cases).map(([name, e]) => [name, levelOf(e, timeLeft(e, now))]));
  const clock = (paused) => ({
    exercise_id: "x", exercise_time: at(0), wall_time: new Date(Date.now() - 2000).toISOString(),
    speed: 600, paused, ended: false,
  });
  return {
    levels,
    countdowns: [countdown(90061), countdown(-59), countdown(8 * 3600 - 1, false)],
    paused_moves: (exerciseNow(clock(true)) - now) / 1000,
    running_moves: (exerciseNow(clock(false)) - now) / 1000,
  };
}"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: `make test` installs Debian's chromium package",
)


def tagged(name: str) -> str:
    """A selector for the element with `data-test=name`."""
    return f"[data-test={name}]"


def seconds_of_day(clock: str) -> int:
    """`HH:MM:SS` in seconds."""
    hours, minutes, seconds = (int(part) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def clock_text(seconds: int) -> str:
    """Seconds of a day as `HH:MM:SS`."""
    seconds %= 86_400
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Steps:
    """Screenshots of the test's steps, numbered, under `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.paths: list[Path] = []
        self.began = time.monotonic()

    async def shot(self, page: Page, name: str) -> None:
        path = self.directory / f"{len(self.paths) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path))
        self.paths.append(path)
        print(f"screenshot at {time.monotonic() - self.began:4.0f} s: {path}")


class Watched:
    """The JavaScript errors a page had (uncaught ones and console errors)."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not message.text.startswith(NETWORK_NOTE):
            self.errors.append(f"console: {message.text}")


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium from the system's package (nothing downloaded)."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def log_in(context: BrowserContext, console: RunningConsole, code: str) -> Page:
    page = await context.new_page()
    await page.goto(console.url)
    await page.fill(tagged("login-code"), code)
    await page.click(tagged("login-submit"))
    await expect(page.locator(tagged("app-view"))).to_be_visible()
    return page


async def countdown_of(page: Page, request_id: str) -> tuple[str | None, str]:
    """How the countdown of `request_id` stands (running, stopped, settled...) and reads."""
    cell = page.locator(f'[data-request-id="{request_id}"] {tagged("countdown")}')
    return await cell.get_attribute("data-state"), (await cell.inner_text()).split("\n")[0]


async def a_running_countdown(page: Page) -> tuple[str, str]:
    """A request on the board whose countdown runs, and what it reads now."""
    running = page.locator(f"{tagged('board-row')}:has({tagged('countdown')}[data-state=running])")
    await expect(running.first).to_be_visible(timeout=60_000)
    request_id = await running.first.get_attribute("data-request-id")
    assert request_id is not None
    state, text = await countdown_of(page, request_id)
    assert state == "running"
    return request_id, text


async def countdown_after_a_second(page: Page) -> tuple[str, str]:
    """A running countdown read twice, a second apart (another request if it settled)."""
    for _ in range(5):
        request_id, before = await a_running_countdown(page)
        await asyncio.sleep(1.0)
        state, after = await countdown_of(page, request_id)
        if state == "running":
            return before, after
    raise AssertionError("no countdown kept running for a second")


async def confirm_dialog(page: Page, name: str, reason: str) -> None:
    """Fill the reason of the open `name` dialog and confirm it."""
    dialog = page.locator(tagged(f"{name}-dialog"))
    await expect(dialog).to_be_visible()
    await dialog.locator(tagged(f"{name}-reason")).fill(reason)
    await dialog.locator(tagged(f"{name}-confirm")).click()
    await expect(dialog).to_be_hidden(timeout=15_000)


async def preview(page: Page, name: str, field: str, value: str) -> Locator:
    """Open the `name` dialog, type `value` and wait for its preview; the dialog stays open."""
    await page.click(tagged(f"clock-{name}"))
    dialog = page.locator(tagged(f"{name}-dialog"))
    await dialog.locator(tagged(field)).fill(value)
    shown = dialog.locator(f"{tagged('preview-item')}, {tagged('preview-none')}")
    await expect(shown.first).to_be_visible()
    await expect(dialog.locator(tagged(f"{name}-confirm"))).to_be_enabled()
    return dialog


async def test_a_trainer_runs_the_baltic_drill_from_the_browser(
    console: RunningConsole, browser: Browser, namespace: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    steps = Steps(tmp_path)
    trainer_context = await browser.new_context(viewport=LAPTOP)
    fetched: list[str] = []
    trainer_context.on("request", lambda request: fetched.append(request.url))
    page = await trainer_context.new_page()
    watched = Watched(page)
    await page.goto(console.url)
    await expect(page.locator(tagged("login-view"))).to_be_visible()
    await steps.shot(page, "login")

    # Log in as exercise control.
    await page.fill(tagged("login-code"), console.trainer_code)
    await page.click(tagged("login-submit"))
    await expect(page.locator(tagged("role"))).to_have_text("Exercise control")
    await expect(page.locator(tagged("live-indicator"))).to_have_text("Live")

    # An uploaded scenario is checked first: its problems come with line and field.
    picker = page.locator(tagged("scenario-picker"))
    await expect(picker.locator("option[value='baltic_siena_drill.yaml']")).to_have_count(1)
    await picker.select_option(label="Upload a scenario file…")
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN_SCENARIO)
    await page.set_input_files(tagged("scenario-file"), broken)
    problem = page.locator(tagged("scenario-problem"))
    await expect(problem).to_have_count(1)
    await expect(problem).to_contain_text("line 12")
    await expect(problem).to_contain_text("injects.0.to")
    await expect(page.locator(tagged("exercise-start"))).to_be_disabled()
    await steps.shot(page, "upload-checked")

    # Start the Baltic drill at a speed that leaves time to act.
    await picker.select_option("baltic_siena_drill.yaml")
    await page.fill(tagged("start-speed"), str(SPEED))
    await expect(page.locator(tagged("start-duration"))).to_contain_text("19 min")
    await steps.shot(page, "scenario-picked")
    await page.click(tagged("exercise-start"))
    await expect(page.locator(tagged("run-state"))).to_have_text("Running", timeout=90_000)
    await expect(page.locator(tagged("exercise-name"))).to_have_text("Baltic SIENA drill")
    await expect(page.locator(tagged("speed"))).to_have_text(f"\u00d7{SPEED}")  # times sign

    # The links: nodes and hub still joining their groups read "connecting", never
    # "down", and every one is up soon after the start.
    links = page.locator(f"{tagged('link-health')} [data-link]")
    assert await page.locator(f"{tagged('link-health')} [data-link=down]").count() == 0
    await expect(page.locator(f"{tagged('link-health')} [data-link=up]")).to_have_count(
        await links.count(), timeout=30_000
    )
    assert await page.locator(f"{tagged('health-node')}[data-link=up]").count() >= 2

    # A countdown moves with exercise time.
    before, after = await countdown_after_a_second(page)
    assert before != after, f"the countdown stood still at {before}"
    await steps.shot(page, "running")

    # Pause: the dialog wants a reason; then countdowns and the exercise clock freeze.
    await page.click(tagged("clock-pause"))
    pause = page.locator(tagged("pause-dialog"))
    await pause.locator(tagged("pause-confirm")).click()
    await expect(pause.locator(tagged("dialog-error"))).to_contain_text("reason")
    await steps.shot(page, "pause-asks-a-reason")
    await confirm_dialog(page, "pause", "briefing before the second phase")
    await expect(page.locator(tagged("run-state"))).to_have_text("Paused")
    clock_before = await page.locator(tagged("exercise-time")).inner_text()
    before, after = await countdown_after_a_second(page)
    assert before == after, f"the countdown moved while paused: {before} -> {after}"
    assert await page.locator(tagged("exercise-time")).inner_text() == clock_before
    await steps.shot(page, "paused")

    # While paused: a jump and a speed change show first what they would do.
    jump = await preview(page, "jump", "jump-by", "3d")
    await steps.shot(page, "jump-preview")
    await jump.locator(tagged("jump-cancel")).click()
    await preview(page, "jump", "jump-by", "02:00")
    await confirm_dialog(page, "jump", "on to the afternoon")
    jumped = seconds_of_day(clock_before) + 2 * 3600
    await expect(page.locator(tagged("exercise-time"))).to_have_text(clock_text(jumped))
    speed = await preview(page, "speed", "speed-value", "100000")
    await steps.shot(page, "speed-preview")
    await speed.locator(tagged("speed-value")).fill(str(FASTER))
    await expect(speed.locator(tagged("speed-confirm"))).to_be_enabled()
    await confirm_dialog(page, "speed", "a quiet afternoon")
    await expect(page.locator(tagged("speed"))).to_have_text(f"\u00d7{FASTER}")

    await page.click(tagged("clock-resume"))
    await confirm_dialog(page, "resume", "briefing over")
    await expect(page.locator(tagged("run-state"))).to_have_text("Running")
    before, after = await countdown_after_a_second(page)
    assert before != after, "the countdown did not move on after the resume"

    # A manual inject: the console names the field that is wrong, then sends it.
    await page.check(tagged("filter-settled"))  # it stays on the board once answered
    await page.click(tagged("tab-inject"))
    await page.fill(tagged("inject-id"), "van-owner")
    await page.select_option(tagged("inject-from"), "LT")
    await page.select_option(tagged("inject-to"), "PL")
    await page.select_option(tagged("inject-urgency"), "urgent")
    await page.fill(tagged("inject-subject"), "Owner of a white van seen at Budzisko")
    await page.click(tagged("inject-submit"))
    refused = page.locator(f"{tagged('field-error')}[data-field=urgency_reason]")
    await expect(refused).to_contain_text("Art. 4")
    await steps.shot(page, "inject-field-error")
    await page.fill(tagged("inject-urgency-reason"), "a person deprived of liberty")
    await page.click(tagged("inject-submit"))
    await expect(page.locator(tagged("inject-result"))).to_contain_text("van-owner")
    await expect(refused).to_have_count(0)
    row = page.locator(f'{tagged("board-row")}[data-request-id$=".van-owner"]')
    await expect(row).to_be_visible(timeout=30_000)
    await expect(row).to_contain_text("LT")
    await expect(row).to_contain_text("8 h")
    await steps.shot(page, "inject-on-board")

    # The inspector: its audit records, where they sit on Kafka, the CloudEvent it came as.
    await row.locator(tagged("inspect")).click()
    inspector = page.locator(tagged("inspector"))
    await expect(inspector.locator(tagged("inspector-name"))).to_have_text("van-owner")
    received = inspector.locator(f"{tagged('inspector-step')}[data-event=received]")
    await expect(received).to_have_count(1)
    await expect(received).to_contain_text("SIENA by default (Art. 13)")
    await expect(received).to_contain_text("disclosed to PL: SIENA by default (Art. 13)")
    await expect(received.locator(tagged("step-kafka"))).to_contain_text(f"{namespace}.audit")
    await steps.shot(page, "inspector")
    raw = inspector.locator(tagged("raw-event"), has_text="eu.onestop.request.v1")
    await expect(raw).to_have_count(1)
    await raw.locator("summary").click()
    await expect(raw).to_contain_text(f"{namespace}.outbox.LT")
    await expect(raw.locator(tagged("raw-data"))).to_contain_text("a person deprived of liberty")
    await steps.shot(page, "inspector-cloudevent")

    # An observation about it, with exercise and wall time.
    await inspector.locator(tagged("inspector-observe")).click()
    request_id = await row.get_attribute("data-request-id")
    await expect(page.locator(tagged("observation-request"))).to_have_value(request_id or "")
    await page.fill(tagged("observation-text"), OBSERVATION)
    await page.click(tagged("observation-submit"))
    noted = page.locator(tagged("observation"), has_text=OBSERVATION)
    await expect(noted).to_have_count(1)
    await expect(noted.locator(tagged("observation-exercise-time"))).to_contain_text("T+")
    await expect(noted.locator(tagged("observation-wall-time"))).to_contain_text("wall")
    await steps.shot(page, "observation")

    # An observer watches at the same time: sees the board and the note, may change nothing.
    observer_context = await browser.new_context(viewport=LAPTOP)
    observer = await log_in(observer_context, console, console.observer_code)
    observer_watched = Watched(observer)
    await expect(observer.locator(tagged("role"))).to_have_text("Observer")
    await observer.check(tagged("filter-settled"))  # answered by now, perhaps
    await expect(observer.locator(f'[data-request-id="{request_id}"]')).to_have_count(1)
    for control in ("clock-pause", "clock-speed", "exercise-end", "exercise-start"):
        await expect(observer.locator(tagged(control))).to_be_disabled()
    await expect(observer.locator(tagged("observer-note"))).to_be_visible()
    await observer.click(tagged("tab-observations"))
    await expect(observer.locator(tagged("observation"), has_text=OBSERVATION)).to_have_count(1)
    await expect(observer.locator(tagged("observation-submit"))).to_be_disabled()
    await steps.shot(observer, "observer")
    await observer_context.close()

    # The page on a full HD projector.
    await page.set_viewport_size(FULL_HD)
    await page.click(tagged("tab-exercise"))
    await steps.shot(page, "full-hd")
    await page.set_viewport_size(LAPTOP)

    # End the exercise; the report is offered once written, and holds the observation.
    await page.click(tagged("exercise-end"))
    await confirm_dialog(page, "end", "objectives met, debrief starts")
    # The clock's end and the report reach the page by separate ways (the clock topic, the
    # run): either may come first on a busy machine.
    await expect(page.locator(tagged("run-state"))).to_have_text("Ended", timeout=120_000)
    link = page.locator(tagged("report-link"))
    await expect(link).to_be_visible(timeout=120_000)
    await steps.shot(page, "ended")
    href = await link.get_attribute("href")
    assert href is not None and href.endswith("/report.html")
    async with page.expect_popup() as opened:
        await link.click()
    report = await opened.value
    await report.wait_for_load_state()
    await expect(report).to_have_title("Baltic SIENA drill: after-action report")
    await expect(report.locator("body")).to_contain_text("van-owner")
    await expect(report.locator("body")).to_contain_text(OBSERVATION)
    await steps.shot(report, "report")
    await report.get_by_text(OBSERVATION).first.scroll_into_view_if_needed()
    await steps.shot(report, "report-observation")

    assert watched.errors == [], watched.errors
    assert observer_watched.errors == [], observer_watched.errors
    # Everything the page fetched came from the console itself: no CDN, no web fonts.
    assert [url for url in fetched if not url.startswith(console.url)] == []
    await trainer_context.close()
    print(f"browser test: {time.monotonic() - began:.0f} s, {len(steps.paths)} screenshots")


async def test_countdowns_colour_as_the_limit_is_used(browser: Browser) -> None:
    """The board's countdown logic, run in the browser on the page's own module (served
    from the package, no console needed): past 50 % and 80 % of the limit, overdue when
    the deadline passed or the hub flagged it, stopped while a clarification or a court
    holds the clock, no limit, settled; and the clock runs on from the last ClockState."""
    context = await browser.new_context()

    async def serve(route: Route) -> None:
        path = urlsplit(route.request.url).path
        if path.startswith("/static/") and (STATIC / path.removeprefix("/static/")).is_file():
            await route.fulfill(path=STATIC / path.removeprefix("/static/"))
        else:
            await route.fulfill(
                body="<!DOCTYPE html><title>OneStop</title>", content_type="text/html"
            )

    await context.route("http://onestop.test/**", serve)
    page = await context.new_page()
    watched = Watched(page)
    await page.goto("http://onestop.test/")
    found = await page.evaluate(LEVELS_SCRIPT)
    await context.close()
    assert found["levels"] == {
        "fresh": "ok",
        "half": "half",
        "late": "late",
        "overdue": "overdue",
        "flagged": "overdue",
        "stopped": "stopped",
        "none": "none",
        "settled": "settled",
    }
    assert found["countdowns"] == ["1d 01:01:01", "\u221200:00:59", "07:59"]
    assert found["paused_moves"] == 0
    assert 1190 <= found["running_moves"] <= 1210  # 2 wall seconds at 600
    assert watched.errors == []

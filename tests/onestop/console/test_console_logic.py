"""The console's logic without a browser or a broker: the deadline board folded from a
trail the real exchange wrote, the clock-change previews, access codes and sessions, the
event log's catch-up, and the checks of a manual inject."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onestop.console.access import Access, Grant
from onestop.console.board import Placed, RequestBoard, due_soon_after_speed, overdue_after_jump
from onestop.console.events import EventLog
from onestop.console.injector import InjectProblem, check_inject
from onestop.console.models import InjectWhen, ManualInject, Role
from onestop.console.runs import check_text
from schemas.enums import Country, MessageKind, Outcome, RequestState, Urgency
from tests.trails import T0, ExchangeTrail, hours

RUN = "drill"


def board_of(trail: ExchangeTrail, trainees: frozenset[Country] = frozenset()) -> RequestBoard:
    board = RequestBoard()
    board.reset(RUN, trainees)
    for offset, record in enumerate(trail.records):
        board.take(Placed(record, "t.audit", record.partition, offset))
    return board


class TestBoard:
    def test_a_request_runs_down_and_settles(self) -> None:
        trail = ExchangeTrail()
        trail.request(f"{RUN}.a", Country.PL, Country.DE, at=T0, urgency=Urgency.URGENT)
        board = board_of(trail)
        entry = board.entries[f"{RUN}.a"]
        assert (entry.name, entry.outcome, entry.deadline) == ("a", Outcome.OPEN, hours(8))

        trail.answer(f"{RUN}.a", MessageKind.REPLY, at=hours(2))
        settled = board_of(trail).entries[f"{RUN}.a"]
        assert (settled.outcome, settled.settled_at, settled.deadline) == (
            Outcome.ANSWERED,
            hours(2),
            None,
        )
        assert board_of(trail).open_entries() == []

    def test_a_clarification_stops_the_countdown_and_the_reply_restarts_it(self) -> None:
        trail = ExchangeTrail()
        trail.request(f"{RUN}.c", Country.PL, Country.DE, at=T0, urgency=Urgency.URGENT)
        trail.answer(f"{RUN}.c", MessageKind.CLARIFICATION_REQUEST, at=hours(1))
        stopped = board_of(trail).entries[f"{RUN}.c"]
        assert stopped.deadline is None and stopped.remaining_seconds == 7 * 3600
        assert stopped.state is RequestState.CLARIFICATION_PENDING

        trail.answer(f"{RUN}.c", MessageKind.CLARIFICATION_REPLY, at=hours(3))
        running = board_of(trail).entries[f"{RUN}.c"]
        assert running.deadline == hours(10) and running.remaining_seconds is None

    def test_overdue_stays_until_settled(self) -> None:
        trail = ExchangeTrail()
        trail.request(f"{RUN}.o", Country.PL, Country.DE, at=T0, urgency=Urgency.URGENT)
        trail.due(hours(9))
        assert board_of(trail).entries[f"{RUN}.o"].outcome is Outcome.OVERDUE
        trail.answer(f"{RUN}.o", MessageKind.REPLY, at=hours(10))
        late = board_of(trail).entries[f"{RUN}.o"]
        assert (late.outcome, late.overdue) == (Outcome.ANSWERED, True)

    def test_other_exercises_one_way_messages_and_duplicates_change_nothing(self) -> None:
        trail = ExchangeTrail()
        trail.request("earlier-run.x", Country.PL, Country.DE, at=T0)
        trail.request(
            f"{RUN}.si", Country.PL, Country.DE, at=T0, kind=MessageKind.SPONTANEOUS_INFORMATION
        )
        trail.request(f"{RUN}.a", Country.PL, Country.DE, at=T0)
        trail.redeliver(trail.records[-1])
        board = board_of(trail, frozenset({Country.DE}))
        assert list(board.entries) == [f"{RUN}.a"]
        assert len(board.steps[f"{RUN}.a"]) == 1  # received (and delivered), once
        assert board.entries[f"{RUN}.a"].trainee_desk

    def test_previews_list_what_a_jump_or_a_speed_would_carry_past_its_deadline(self) -> None:
        trail = ExchangeTrail()
        trail.request(f"{RUN}.u", Country.PL, Country.DE, at=T0, urgency=Urgency.URGENT)  # 8 h
        trail.request(f"{RUN}.n", Country.PL, Country.DE, at=T0)  # 7 days
        entries = board_of(trail).open_entries()
        now = T0 + timedelta(hours=1)
        assert [e.name for e in overdue_after_jump(entries, now, 8 * 3600)] == ["u"]
        assert [e.name for e in overdue_after_jump(entries, now, 8 * 86400)] == ["u", "n"]
        # At 60 exercise s a wall second, ten wall minutes are ten exercise hours.
        assert [e.name for e in due_soon_after_speed(entries, now, 60)] == ["u"]
        assert due_soon_after_speed(entries, now, 1) == []


class TestAccess:
    def test_codes_open_sessions_of_their_role(self) -> None:
        access = Access.fresh()
        code = access.code_of(Grant(Role.TRAINER))
        assert code is not None and len(code) == 14
        opened = access.open_session(code.lower())  # typed by hand, in any case
        assert opened is not None and opened[1] == Grant(Role.TRAINER)
        assert access.grant_of(opened[0], None) == Grant(Role.TRAINER)
        access.close_session(opened[0])
        assert access.grant_of(opened[0], None) is None
        assert access.open_session("WRON-GCOD-EXXX") is None

    def test_every_console_start_has_new_codes(self) -> None:
        first, second = Access.fresh(), Access.fresh()
        assert set(first.codes).isdisjoint(second.codes)

    def test_a_desk_acts_only_for_its_party(self) -> None:
        desk = Grant(Role.DESK, Country.PL)
        assert desk.may_act_for(Country.PL) and not desk.may_act_for(Country.DE)
        assert not desk.can_steer


async def test_the_event_log_replays_what_a_page_missed() -> None:
    log = EventLog(kept=3)
    for n in range(5):
        log.publish("tick", {"n": n})
    missed = log.since(3)
    assert missed is not None and [e.data["n"] for e in missed] == [3, 4]
    assert log.since(1) is None  # older than what is kept: the page must reload
    assert log.since(5) == []
    assert log.since(99) is None  # an id from before the console restarted: reload
    assert log.since(4)[0].sse().startswith("id: 5\nevent: tick\n")  # type: ignore[index]


class TestManualInjects:
    def form(self, **fields: object) -> ManualInject:
        return ManualInject.model_validate({"from": "LT", "to": "PL", "subject": "s", **fields})

    def check(self, form: ManualInject) -> None:
        check_inject(
            form,
            run_id=RUN,
            parties=frozenset({Country.LT, Country.PL}),
            trainees=frozenset({Country.PL}),
            now=T0,
            known={f"{RUN}.vehicle"},
            number=1,
        )

    def fields_of(self, form: ManualInject) -> list[str | None]:
        with pytest.raises(InjectProblem) as raised:
            self.check(form)
        return [p.field for p in raised.value.fields]

    def test_a_good_inject_passes(self) -> None:
        self.check(self.form())
        self.check(self.form(when=InjectWhen.AT, at=T0 + timedelta(hours=1)))

    def test_each_mistake_is_named_by_its_field(self) -> None:
        assert self.fields_of(self.form(urgency="urgent")) == ["urgency_reason"]
        assert self.fields_of(self.form(**{"to": "DE"})) == ["to"]
        assert self.fields_of(self.form(**{"to": "LT"})) == ["to"]
        assert self.fields_of(self.form(id="vehicle")) == ["id"]
        assert self.fields_of(self.form(when=InjectWhen.AT)) == ["at"]
        assert self.fields_of(self.form(when=InjectWhen.AT, at=T0 - timedelta(1))) == ["at"]
        assert self.fields_of(self.form(when=InjectWhen.AFTER)) == ["after_inject"]
        assert self.fields_of(self.form(kind="reply")) == [None]  # not an injectable kind
        assert self.fields_of(self.form(kind="prum_query", payload={"category": "x"})) == [
            "payload.category"
        ]

    def test_a_trainee_party_does_not_send_injects(self) -> None:
        assert self.fields_of(self.form(**{"from": "PL", "to": "LT"})) == ["from"]


def test_an_uploaded_scenario_s_problems_have_line_and_field() -> None:
    scenario, check = check_text("name: x\nclock:\n  start: soon\n  end: 1d\nnodes: {}\n")
    assert scenario is None and not check.ok
    assert (check.problems[0].line, check.problems[0].field) == (3, "clock.start")

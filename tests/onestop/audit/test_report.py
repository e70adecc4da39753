"""The after-action report on the hand-worked scenario of `tests.trails.worked_scenario`, a
trail written by the real exchange (no broker): every figure, determinism, and the
self-contained HTML page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from onestop.audit.report import build_report, percentile, report_json
from onestop.audit.report_html import render_html, write_report
from onestop.audit.report_model import (
    AnswerTimeRow,
    ChainCheck,
    ComplianceRow,
    GroundCount,
    Report,
    Summary,
)
from onestop.audit.statistics import art18_statistics
from schemas.audit import ChainFault, ChainReport
from schemas.clock import ClockAction, ClockCommand
from schemas.deadlines import DIRECTIVE_2023_977
from schemas.enums import Country, MessageKind
from schemas.observations import Observation
from streams.control import control_record
from tests.trails import T0, ExchangeTrail, hours, worked_scenario


@pytest.fixture(scope="module")
def report() -> Report:
    return build_report(worked_scenario().records, exercise={"name": "Baltic drill"})


def row(report: Report, request_id: str) -> dict[str, object]:
    found = next(r for r in report.requests if r.request_id == request_id)
    return found.model_dump(by_alias=True)


class TestPercentile:
    def test_linear_between_closest_ranks(self) -> None:
        assert percentile([2, 2, 172, 240], 0.5) == 87
        assert percentile([2, 2, 172, 240], 0.9) == pytest.approx(219.6)
        assert percentile([240, 172], 0.9) == pytest.approx(233.2)
        assert percentile([5], 0.9) == 5
        assert percentile([], 0.5) is None


class TestSummary:
    def test_every_figure(self, report: Report) -> None:
        assert report.summary == Summary(
            requests=6,
            answered=4,
            refused=1,
            overdue=1,
            open=0,
            on_time=4,
            late=2,
            on_time_share=0.6667,
            one_way_messages=1,
            rejected=1,
            clarification_requests=1,
            delayed=1,
            records=20,
            unique_records=18,
            duplicates=2,
            first_received_at="2026-03-02T08:00:00Z",
            as_of="2026-03-12T09:30:00Z",
        )


class TestRequests:
    def test_one_row_per_request_in_order_of_receipt(self, report: Report) -> None:
        assert [r.request_id for r in report.requests] == ["R1", "R2", "R3", "R4", "R6", "R5"]

    def test_answered_on_time(self, report: Report) -> None:
        assert row(report, "R1") == {
            "request_id": "R1",
            "case_id": "case-R1",
            "from": "PL",
            "to": "LT",
            "kind": "request",
            "urgency": "urgent",
            "accessibility": "direct",
            "channel": "siena",
            "channel_reason": "SIENA by default (Art. 13)",
            "fallback_from": None,
            "received_at": "2026-03-02T08:00:00Z",
            "limit_hours": 8.0,
            "limit_basis": "directive_2023_977",
            "limit_why": "Directive (EU) 2023/977 Art. 5(1): urgent, directly accessible: 8 h",
            "under_rule_set": True,
            "original_deadline": "2026-03-02T16:00:00Z",
            "deadline": "2026-03-02T16:00:00Z",
            "settled_at": "2026-03-02T10:00:00Z",
            "outcome": "answered",
            "on_time": True,
            "answer_hours": 2.0,
            "overdue_flagged": False,
            "clarifications": 0,
            "delayed": False,
            "exceeded_for_judicial_authorisation": False,
            "refusal_grounds": [],
        }

    def test_answered_late(self, report: Report) -> None:
        r2 = row(report, "R2")
        assert (r2["outcome"], r2["on_time"], r2["overdue_flagged"]) == ("answered", False, True)
        assert r2["deadline"] == "2026-03-09T08:30:00Z"
        assert r2["settled_at"] == "2026-03-09T12:30:00Z"
        assert r2["answer_hours"] == 172.0

    def test_refused(self, report: Report) -> None:
        r3 = row(report, "R3")
        assert (r3["outcome"], r3["on_time"]) == ("refused", True)
        assert r3["refusal_grounds"] == ["f_national_security_investigation_safety"]
        assert r3["deadline"] == "2026-03-05T09:00:00Z"
        assert (r3["urgency"], r3["accessibility"]) == ("urgent", "indirect")

    def test_delayed_for_judicial_authorisation(self, report: Report) -> None:
        r4 = row(report, "R4")
        assert (r4["outcome"], r4["on_time"], r4["delayed"]) == ("answered", True, True)
        assert r4["deadline"] == r4["original_deadline"] == "2026-03-09T09:30:00Z"
        assert r4["settled_at"] == "2026-03-12T09:30:00Z"
        assert r4["exceeded_for_judicial_authorisation"] is True

    def test_open_and_overdue_after_a_clarification(self, report: Report) -> None:
        r5 = row(report, "R5")
        assert (r5["outcome"], r5["on_time"], r5["settled_at"]) == ("overdue", False, None)
        assert r5["original_deadline"] == "2026-03-02T20:00:00Z"
        assert r5["deadline"] == "2026-03-02T22:00:00Z"
        assert r5["clarifications"] == 1

    def test_prum_query(self, report: Report) -> None:
        r6 = row(report, "R6")
        assert (r6["kind"], r6["channel"], r6["urgency"]) == ("prum_query", "prum", None)
        assert r6["limit_hours"] == 0.25
        assert r6["answer_hours"] == 0.0833


class TestTables:
    def test_compliance(self, report: Report) -> None:
        c = report.compliance
        assert c.by_country == [
            ComplianceRow(group="DE", requests=2, on_time=1, late=1, share=0.5),
            ComplianceRow(group="LT", requests=2, on_time=1, late=1, share=0.5),
            ComplianceRow(group="PL", requests=2, on_time=2, late=0, share=1.0),
        ]
        assert c.by_channel == [
            ComplianceRow(group="prum", requests=1, on_time=1, late=0, share=1.0),
            ComplianceRow(group="siena", requests=5, on_time=3, late=2, share=0.6),
        ]
        assert c.by_urgency == [
            ComplianceRow(group="n/a", requests=1, on_time=1, late=0, share=1.0),
            ComplianceRow(group="non_urgent", requests=2, on_time=1, late=1, share=0.5),
            ComplianceRow(group="urgent", requests=3, on_time=2, late=1, share=0.6667),
        ]

    def test_answer_times_in_hours(self, report: Report) -> None:
        a = report.answer_times
        prum = AnswerTimeRow(
            group="prum", settled=1, p50_hours=0.0833, p90_hours=0.0833, max_hours=0.0833
        )
        assert a.by_channel == [
            prum,
            AnswerTimeRow(group="siena", settled=4, p50_hours=87, p90_hours=219.6, max_hours=240),
        ]
        assert a.by_urgency == [
            prum.model_copy(update={"group": "n/a"}),
            AnswerTimeRow(
                group="non_urgent", settled=2, p50_hours=206, p90_hours=233.2, max_hours=240
            ),
            AnswerTimeRow(group="urgent", settled=2, p50_hours=2, p90_hours=2, max_hours=2),
        ]

    def test_refusals_clarifications_delays(self, report: Report) -> None:
        assert report.refusals_by_ground == [
            GroundCount(ground="f_national_security_investigation_safety", refusals=1)
        ]
        (clarified,) = report.clarifications
        assert (clarified.request_id, clarified.clarifications) == ("R5", 1)
        assert clarified.deadline == "2026-03-02T22:00:00Z"
        (delay,) = report.delays
        assert delay.model_dump(by_alias=True) == {
            "request_id": "R4",
            "from": "DE",
            "to": "PL",
            "delayed_at": "2026-03-03T09:30:00Z",
            "expected_delay_hours": 240.0,
            "reason": "court order",
            "original_deadline": "2026-03-09T09:30:00Z",
            "settled_at": "2026-03-12T09:30:00Z",
            "exceeded": True,
        }

    def test_art18_is_the_statistics_module_s(self, report: Report) -> None:
        assert report.art18 == art18_statistics(worked_scenario().records)

    def test_chain_checked_from_the_records_when_not_given(self, report: Report) -> None:
        assert report.chain == ChainCheck(
            intact=True, records=20, unique=18, duplicates=2, faults=[]
        )

    def test_a_given_chain_check_is_reported(self) -> None:
        chain = ChainReport(records=3, unique_records=3)
        chain.faults.append(ChainFault(2, 1, "R9/received", "content does not match its hash"))
        built = build_report(worked_scenario().records, chain=chain)
        assert built.chain == ChainCheck(
            intact=False,
            records=3,
            unique=3,
            duplicates=0,
            faults=["partition 2, record #1 (R9/received): content does not match its hash"],
        )


class TestDeterminism:
    def test_same_records_same_json(self) -> None:
        first = report_json(build_report(worked_scenario().records))
        assert report_json(build_report(worked_scenario().records)) == first

    def test_partitions_read_in_another_order_give_the_same_report(self) -> None:
        records = worked_scenario().records
        by_partition = sorted(records, key=lambda r: -r.partition)
        assert report_json(build_report(by_partition)) == report_json(build_report(records))

    def test_json_uses_from_and_to(self, report: Report) -> None:
        data = json.loads(report_json(report))
        assert data["requests"][0]["from"] == "PL" and data["requests"][0]["to"] == "LT"
        assert data["exercise"] == {"name": "Baltic drill"}

    def test_an_empty_trail(self) -> None:
        empty = build_report([])
        assert empty.summary.requests == 0 and empty.summary.on_time_share is None
        assert empty.chain.intact and empty.requests == []
        assert "No requests on the trail" in render_html(empty)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href")]


class TestHtml:
    def test_self_contained_page(self, report: Report) -> None:
        page = render_html(report)
        parser = _Collector()
        parser.feed(page)
        assert parser.tags.count("img") == 3  # timeline, answer times, refusals
        assert all(u.startswith("data:image/png;base64,") for u in parser.urls)
        text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
        assert not re.search(r"(?:https?:)?//[a-z]|url\(|@import", text)
        assert "<style>" in page and "Baltic drill" in page

    def test_the_sections_a_trainer_reads(self, report: Report) -> None:
        page = render_html(report)
        for heading in (
            "Summary",
            "Requests against their deadlines",
            "Time-limit compliance",
            "Answer times",
            "Refusals by ground",
            "Clarifications and judicial delays",
            "Art. 18 statistics",
            "Audit chain check",
        ):
            assert f"<h2>{heading}" in page
        assert "Audit trail intact" in page

    def test_text_is_escaped(self) -> None:
        built = build_report(worked_scenario().records, exercise={"name": "<b>drill</b> & co"})
        page = render_html(built)
        assert "&lt;b&gt;drill&lt;/b&gt; &amp; co" in page and "<b>drill" not in page

    def test_write_report(self, report: Report, tmp_path: Path) -> None:
        json_path, html_path = write_report(report, tmp_path / "out")
        assert json_path == tmp_path / "out" / "report.json"
        assert html_path == tmp_path / "out" / "report.html"
        assert json.loads(json_path.read_text())["summary"]["requests"] == 6
        assert html_path.read_text().startswith("<!DOCTYPE html>")


class TestOutsideTheRuleSet:
    """Exchanges with Europol and a third country: their own table, not Art. 18."""

    @pytest.fixture
    def mixed(self) -> Report:
        rules = DIRECTIVE_2023_977.model_copy(
            update={"counterpart_limits": {Country.EUROPOL: 72 * 3600.0}}
        )
        trail = ExchangeTrail(rules=rules)
        trail.request("EU1", Country.PL, Country.DE, at=T0)
        trail.request("EP1", Country.PL, Country.EUROPOL, at=T0)
        trail.request("CO1", Country.DE, Country.CO, at=T0, language="es")
        trail.answer("EP1", MessageKind.REPLY, at=hours(3))
        return build_report(trail.records)

    def test_art18_counts_only_exchanges_between_member_states(self, mixed: Report) -> None:
        assert [c.country for c in mixed.art18.countries] == ["DE", "PL"]
        assert mixed.art18.totals.requests_sent == 1

    def test_europol_and_the_third_country_have_a_table_of_their_own(self, mixed: Report) -> None:
        rows = {r.counterpart: r for r in mixed.outside_rule_set}
        assert sorted(rows) == ["CO", "EUROPOL"]
        assert (rows["EUROPOL"].requests, rows["EUROPOL"].answered) == (1, 1)
        assert rows["EUROPOL"].limits == [
            "exchange with EUROPOL, outside the rule set: 3 days (scenario)"
        ]
        assert rows["CO"].open == 1
        assert rows["CO"].limits == ["exchange with CO, outside the rule set: no limit configured"]

    def test_a_request_without_a_limit_is_a_request_with_no_deadline(self, mixed: Report) -> None:
        co = next(r for r in mixed.requests if r.request_id == "CO1")
        assert (co.limit_hours, co.deadline, co.limit_basis) == (None, None, "none")
        assert co.channel == "interpol_i247" and not co.under_rule_set
        assert "Art. 13(a)" in (co.channel_reason or "")

    def test_compliance_leaves_out_requests_without_a_limit(self, mixed: Report) -> None:
        assert [r.group for r in mixed.compliance.by_country] == ["DE", "EUROPOL"]


def test_clock_commands_and_observations_are_on_the_timeline() -> None:
    trail = worked_scenario()
    pause = ClockCommand(
        exercise_id="drill",
        action=ClockAction.PAUSE,
        issued_at=hours(3),
        reason="briefing on the refusal",
        actor="trainer",
    )
    trail.redeliver(control_record(7, pause, hours(3), hours(3)))  # sealed at its head
    note = Observation(
        observation_id="o1",
        exercise_id="drill",
        author="trainer",
        wall_time=hours(4),
        exercise_time=hours(4),
        text="PL refused on ground (f) without consulting the case file",
        party=Country.PL,
    )

    report = build_report(trail.records, observations=[note])

    assert [(n.what, n.by, n.text) for n in report.timeline] == [
        ("clock pause", "trainer", "briefing on the refusal"),
        ("observation", "trainer", note.text),
    ]
    page = render_html(report)
    assert "Exercise control and observations" in page
    assert "without consulting the case file" in page

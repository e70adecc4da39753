"""The after-action report assesses a trainee desk: on a trail the real exchange wrote for
a PL desk that answered one request in time, refused one on ground (f), asked for a
clarification on a third, let a fourth go overdue and opened one of its own on a channel
Art. 13 does not give, with a finding the console noted."""

from __future__ import annotations

from datetime import timedelta

from onestop.audit.report import build_report
from onestop.audit.report_html import render_html
from schemas.enums import Channel, Country, MessageKind, Outcome, RefusalGround, Urgency
from schemas.observations import Observation
from tests.trails import T0, ExchangeTrail, hours

PL, LT, DE, SE, CZ = Country.PL, Country.LT, Country.DE, Country.SE, Country.CZ


def desk_trail() -> ExchangeTrail:
    t = ExchangeTrail()
    t.request("vehicle", LT, PL, at=T0, urgency=Urgency.URGENT)
    t.request("undercover", DE, PL, at=hours(0.2))
    t.request("vague", SE, PL, at=hours(0.4))
    t.request("arrest", CZ, PL, at=hours(0.6), urgency=Urgency.URGENT)
    t.answer("vehicle", MessageKind.REPLY, at=hours(3))
    t.refuse("undercover", [RefusalGround.NATIONAL_SECURITY], at=hours(4))
    t.answer("vague", MessageKind.CLARIFICATION_REQUEST, at=hours(5))
    t.request("own", PL, LT, at=hours(6), requested_channel=Channel.INTERPOL_I247)
    t.due(hours(9))  # the arrest request's 8 hours are over
    return t


FINDING = Observation(
    observation_id="f1",
    author="console",
    wall_time=T0,
    exercise_time=hours(5.5),
    text="the PL desk tried to send an urgent request without its reason (Art. 4)",
    party=PL,
    finding="missing_urgency_reason",
)
NOTE = Observation(
    observation_id="n1",
    author="trainer",
    wall_time=T0,
    exercise_time=hours(7),
    text="the desk did not check the arrest request",
    party=PL,
)


def test_the_desk_section_counts_what_the_desk_did() -> None:
    report = build_report(desk_trail().records, observations=[FINDING, NOTE], trainees=[PL])

    (desk,) = report.desks
    assert (desk.party, desk.received, desk.answered, desk.refused) == ("PL", 4, 1, 1)
    assert (desk.overdue, desk.open) == (1, 1)  # arrest overdue; vague waits for SE
    assert desk.refusals_by_ground == {"f_national_security_investigation_safety": 1}
    assert (desk.clarifications_asked, desk.delay_notices) == (1, 0)
    assert (desk.on_time, desk.late, desk.on_time_share) == (3, 1, 0.75)
    assert desk.deviations == 1 and desk.missing_urgency_reasons == 1
    (own,) = desk.opened
    assert (own.to, own.channel, own.requested_channel) == ("LT", "siena", "interpol_i247")
    assert own.deviation is not None and "Art. 13 gives siena" in own.deviation
    answers = {r.request_id: r.answer_hours for r in desk.requests}
    assert answers == {"vehicle": 3.0, "undercover": 3.8, "vague": None, "arrest": None}
    whats = [m.what for m in desk.timeline]
    assert whats.count("received a request") == 4
    assert {"answered", "refused", "asked for clarification", "opened a request",
            "time limit passed", "finding", "observation (trainer)"} <= set(whats)  # fmt: skip
    assert [m.exercise_time for m in desk.timeline] == sorted(
        m.exercise_time for m in desk.timeline
    )


def test_the_page_has_a_section_per_desk() -> None:
    report = build_report(desk_trail().records, trainees=[PL])
    page = render_html(report)
    assert "Desk PL (trainee)" in page
    assert "Answer times against the limits" in page and "chosen by the desk" in page


def test_no_trainee_no_desk_section() -> None:
    report = build_report(desk_trail().records)
    assert report.desks == [] and "(trainee)" not in render_html(report)


def test_an_overdue_request_is_late_even_when_answered_later() -> None:
    trail = desk_trail()
    trail.answer("arrest", MessageKind.REPLY, at=hours(10))
    (desk,) = build_report(trail.records, trainees=[PL]).desks
    arrest = next(r for r in desk.requests if r.request_id == "arrest")
    assert (arrest.outcome, arrest.on_time, arrest.overdue_flagged) == (
        Outcome.ANSWERED,
        False,
        True,
    )
    assert arrest.answer_hours == (hours(10) - hours(0.6)) / timedelta(hours=1)

"""Request histories and the Art. 18 statistics on the hand-worked scenario of
`tests.trails.worked_scenario`, a trail written by the real exchange (no broker)."""

from __future__ import annotations

import random
from datetime import datetime

from onestop.audit.statistics import (
    Art18Statistics,
    CountryFigures,
    RequestHistory,
    UrgencySplit,
    art18_statistics,
    request_histories,
    trail_end,
    unique_records,
)
from schemas.audit import AuditEvent
from schemas.enums import Country, MessageKind, RefusalGround, Urgency
from schemas.messages import OPENING_KINDS
from tests.trails import T0, ExchangeTrail, hours, worked_scenario


def split(urgent: int, non_urgent: int) -> UrgencySplit:
    return UrgencySplit(urgent=urgent, non_urgent=non_urgent, total=urgent + non_urgent)


def by_id(histories: list[RequestHistory]) -> dict[str, RequestHistory]:
    return {h.request_id: h for h in histories}


class TestUniqueRecords:
    def test_a_redelivered_record_counts_once(self) -> None:
        records = worked_scenario().records
        unique = unique_records(records)
        assert len(records) == 20
        assert len(unique) == 18
        assert len({r.record_id for r in unique}) == 18

    def test_the_first_occurrence_is_kept_in_order(self) -> None:
        records = worked_scenario().records
        unique = unique_records(records)
        copies = [r for r in records if r.record_id == "R1.reply.1/answered"]
        assert len(copies) == 2 and copies[0].seq < copies[1].seq
        assert [r for r in unique if r.record_id == "R1.reply.1/answered"] == copies[:1]
        assert unique == sorted(unique, key=records.index)


class TestRequestHistories:
    def test_every_request_once_in_order_of_receipt(self) -> None:
        histories = request_histories(worked_scenario().records)
        assert [h.request_id for h in histories] == ["R1", "R2", "R3", "R4", "R6", "R5"]

    def test_one_way_messages_and_rejections_are_not_requests(self) -> None:
        ids = {h.request_id for h in request_histories(worked_scenario().records)}
        assert "SI1" not in ids

    def test_a_rejected_second_reply_changes_nothing(self) -> None:
        r1 = by_id(request_histories(worked_scenario().records))["R1"]
        assert r1.settled_at == hours(2)
        assert r1.on_time is True

    def test_parties_kind_channel_and_urgency(self) -> None:
        h = by_id(request_histories(worked_scenario().records))
        assert (h["R3"].requester, h["R3"].requested) == (Country.LT, Country.PL)
        assert h["R3"].urgency is Urgency.URGENT
        assert h["R6"].kind is MessageKind.PRUM_QUERY
        assert h["R6"].urgency is None
        assert h["R6"].channel is not None and h["R6"].channel.value == "prum"

    def test_deadlines_original_and_final(self) -> None:
        h = by_id(request_histories(worked_scenario().records))
        assert h["R1"].original_deadline == h["R1"].deadline == hours(8)
        assert h["R2"].deadline == hours(168.5)
        assert h["R3"].deadline == hours(73)
        # the delay notice stops the clock: no later record moves the deadline
        assert h["R4"].original_deadline == h["R4"].deadline == hours(169.5)
        # clarification: 1 h used of 8 before the pause, 7 h left after 15:00
        assert h["R5"].original_deadline == hours(12)
        assert h["R5"].deadline == hours(14)
        assert h["R6"].deadline == datetime.fromisoformat("2026-03-02T10:15:00+00:00")

    def test_outcomes_and_on_time_flags(self) -> None:
        h = by_id(request_histories(worked_scenario().records))
        assert {k: (v.outcome, v.on_time) for k, v in h.items()} == {
            "R1": ("answered", True),
            "R2": ("answered", False),
            "R3": ("refused", True),
            "R4": ("answered", True),
            "R5": ("overdue", False),
            "R6": ("answered", True),
        }

    def test_settlement_details(self) -> None:
        h = by_id(request_histories(worked_scenario().records))
        assert h["R2"].answer_seconds == 172 * 3600
        assert h["R2"].overdue and h["R2"].overdue_at == hours(168.5)
        assert h["R3"].grounds == [RefusalGround.NATIONAL_SECURITY.value]
        assert h["R3"].settlement is AuditEvent.REFUSED
        assert h["R6"].answer_seconds == 300
        assert h["R5"].clarifications == 1
        assert h["R5"].settled_at is None

    def test_judicial_delay(self) -> None:
        r4 = by_id(request_histories(worked_scenario().records))["R4"]
        assert r4.delayed and r4.delayed_at == hours(25.5)
        assert r4.expected_delay_hours == 240
        assert r4.delay_reason == "court order"
        assert r4.exceeded_for_judicial_authorisation(hours(241.5))

    def test_an_open_delayed_request_exceeds_only_once_past_its_original_deadline(
        self,
    ) -> None:
        trail = ExchangeTrail()
        trail.request("D1", Country.FR, Country.DE, at=T0, urgency=Urgency.URGENT)
        trail.delay("D1", at=hours(1), hours=48)
        (history,) = request_histories(trail.records)
        assert not history.exceeded_for_judicial_authorisation(hours(8))
        assert history.exceeded_for_judicial_authorisation(hours(8.01))
        assert history.outcome == "open" and history.on_time

    def test_a_delayed_request_settled_in_time_did_not_exceed(self) -> None:
        trail = ExchangeTrail()
        trail.request("D2", Country.FR, Country.DE, at=T0, urgency=Urgency.URGENT)
        trail.delay("D2", at=hours(1), hours=4)
        trail.answer("D2", MessageKind.REPLY, at=hours(6))
        (history,) = request_histories(trail.records)
        assert not history.exceeded_for_judicial_authorisation(hours(100))

    def test_the_order_of_partitions_does_not_matter(self) -> None:
        records = worked_scenario().records
        by_partition = sorted(records, key=lambda r: r.partition)
        assert request_histories(by_partition) == request_histories(records)

    def test_trail_end_is_the_latest_exercise_time(self) -> None:
        assert trail_end(worked_scenario().records) == hours(241.5)
        assert trail_end([]) is None


EXPECTED_DE = CountryFigures(
    country="DE",
    requests_sent=1,
    requests_received=split(0, 1),
    requests_received_by_requester={"PL": split(0, 1)},
    requests_answered=split(0, 1),
    requests_answered_by_requester={"PL": split(0, 1)},
)
EXPECTED_LT = CountryFigures(
    country="LT",
    requests_sent=1,
    requests_received=split(2, 0),
    requests_received_by_requester={"PL": split(2, 0)},
    requests_answered=split(1, 0),
    requests_answered_by_requester={"PL": split(1, 0)},
)
EXPECTED_PL = CountryFigures(
    country="PL",
    requests_sent=3,
    requests_received=split(1, 1),
    requests_received_by_requester={"DE": split(0, 1), "LT": split(1, 0)},
    requests_answered=split(0, 1),
    requests_answered_by_requester={"DE": split(0, 1)},
    refusals=1,
    refusals_by_ground={RefusalGround.NATIONAL_SECURITY.value: 1},
    judicial_delays=1,
    time_limits_exceeded_judicial=1,
)
EXPECTED_ALL = CountryFigures(
    country="ALL",
    requests_sent=5,
    requests_received=split(3, 2),
    requests_received_by_requester={"DE": split(0, 1), "LT": split(1, 0), "PL": split(2, 1)},
    requests_answered=split(1, 2),
    requests_answered_by_requester={"DE": split(0, 1), "PL": split(1, 1)},
    refusals=1,
    refusals_by_ground={RefusalGround.NATIONAL_SECURITY.value: 1},
    judicial_delays=1,
    time_limits_exceeded_judicial=1,
)


class TestArt18:
    def test_every_figure_of_the_worked_scenario(self) -> None:
        stats = art18_statistics(worked_scenario().records)
        assert stats == Art18Statistics(
            as_of="2026-03-12T09:30:00Z",
            kinds=["request"],
            countries=[EXPECTED_DE, EXPECTED_LT, EXPECTED_PL],
            totals=EXPECTED_ALL,
        )

    def test_duplicates_are_counted_once(self) -> None:
        trail = worked_scenario()
        for record in list(trail.records):
            trail.redeliver(record)
        assert art18_statistics(trail.records) == art18_statistics(worked_scenario().records)

    def test_prum_and_sirene_count_only_when_asked(self) -> None:
        stats = art18_statistics(worked_scenario().records, kinds=frozenset(OPENING_KINDS))
        de, lt, _ = stats.countries
        assert lt.requests_sent == 2
        # a Prüm query has no urgency: non-urgent under Art. 4
        assert de.requests_received == split(0, 2)
        assert de.requests_answered_by_requester == {"LT": split(0, 1), "PL": split(0, 1)}
        assert stats.totals.requests_sent == 6
        assert stats.kinds == ["prum_followup", "prum_query", "request", "sirene_form"]

    def test_an_open_delayed_request_counts_once_past_its_original_deadline(self) -> None:
        trail = ExchangeTrail()
        trail.request("D1", Country.FR, Country.DE, at=T0, urgency=Urgency.URGENT)
        trail.delay("D1", at=hours(1), hours=48)
        before = art18_statistics(trail.records, as_of=hours(7))
        after = art18_statistics(trail.records, as_of=hours(9))
        assert before.totals.time_limits_exceeded_judicial == 0
        assert after.totals.time_limits_exceeded_judicial == 1
        assert after.countries[1].country == "FR"
        assert after.countries[0].time_limits_exceeded_judicial == 1  # DE, the requested
        assert after.as_of == "2026-03-02T17:00:00Z"

    def test_a_refusal_on_two_grounds_counts_once_as_refusal_and_under_each_ground(
        self,
    ) -> None:
        trail = ExchangeTrail()
        trail.request("X1", Country.PL, Country.SE, at=T0)
        trail.refuse("X1", [RefusalGround.MINOR_OFFENCE, RefusalGround.NOT_AVAILABLE], at=hours(1))
        se = art18_statistics(trail.records).countries[1]
        assert se.country == "SE"
        assert se.refusals == 1
        assert se.refusals_by_ground == {"a_not_available": 1, "g_minor_or_no_offence": 1}

    def test_the_same_records_in_any_order_give_the_same_json(self) -> None:
        records = worked_scenario().records
        shuffled = records[:]
        random.Random(4).shuffle(shuffled)
        # shuffling breaks chain order but not the facts: the figures stay the same
        assert (
            art18_statistics(shuffled).model_dump_json()
            == art18_statistics(records).model_dump_json()
        )

    def test_an_empty_trail(self) -> None:
        stats = art18_statistics([])
        assert stats.countries == [] and stats.as_of is None
        assert stats.totals == CountryFigures(country="ALL")

"""The hub's own input positions: which record comes next, and which partitions stall."""

from __future__ import annotations

from streams.positions import InputPositions, Stall, Verdict

KEY = ("ns.outbox.PL", 2)


def test_the_first_record_of_a_partition_is_processed_whatever_its_offset() -> None:
    assert InputPositions().judge(*KEY, 17) is Verdict.PROCESS


def test_records_are_judged_against_the_next_offset() -> None:
    positions = InputPositions()
    positions.taken(*KEY, 9)
    assert positions.next_offset[KEY] == 10
    assert positions.judge(*KEY, 10) is Verdict.PROCESS
    assert positions.judge(*KEY, 9) is Verdict.ALREADY_DONE
    assert positions.judge(*KEY, 12) is Verdict.BEYOND_GAP


def test_taking_a_record_never_moves_the_position_back() -> None:
    positions = InputPositions()
    positions.taken(*KEY, 9)
    positions.taken(*KEY, 4)
    assert positions.next_offset[KEY] == 10


def test_a_partition_behind_the_consumer_stalls_only_after_the_patience() -> None:
    positions = InputPositions(next_offset={KEY: 26})
    assert positions.stalled({KEY: 129}, now=100.0, patience=10.0) == []
    assert positions.stalled({KEY: 129}, now=109.9, patience=10.0) == []
    assert positions.stalled({KEY: 140}, now=110.0, patience=10.0) == [
        Stall(KEY[0], KEY[1], 26, 140)
    ]


def test_progress_restarts_the_patience() -> None:
    positions = InputPositions(next_offset={KEY: 26})
    positions.stalled({KEY: 129}, now=100.0, patience=10.0)
    positions.taken(*KEY, 50)
    assert positions.stalled({KEY: 129}, now=105.0, patience=10.0) == []
    assert positions.stalled({KEY: 129}, now=114.0, patience=10.0) == []
    assert positions.stalled({KEY: 129}, now=115.0, patience=10.0) == [
        Stall(KEY[0], KEY[1], 51, 129)
    ]


def test_a_partition_caught_up_or_unknown_never_stalls() -> None:
    other = ("ns.outbox.DE", 0)
    positions = InputPositions(next_offset={KEY: 129})
    for now in (100.0, 200.0, 300.0):
        assert positions.stalled({KEY: 129, other: 40}, now=now, patience=10.0) == []


def test_a_partition_caught_up_in_between_starts_a_new_wait() -> None:
    positions = InputPositions(next_offset={KEY: 26})
    positions.stalled({KEY: 129}, now=100.0, patience=10.0)
    positions.stalled({KEY: 26}, now=105.0, patience=10.0)  # the consumer was seeked back
    assert positions.stalled({KEY: 129}, now=111.0, patience=10.0) == []
    assert positions.stalled({KEY: 129}, now=121.0, patience=10.0) != []


def test_a_partition_no_longer_assigned_is_forgotten() -> None:
    positions = InputPositions(next_offset={KEY: 26})
    positions.stalled({KEY: 129}, now=100.0, patience=10.0)
    positions.stalled({}, now=105.0, patience=10.0)  # revoked
    assert positions.stalled({KEY: 129}, now=111.0, patience=10.0) == []


def test_after_a_rebalance_the_patience_starts_again() -> None:
    positions = InputPositions(next_offset={KEY: 26})
    positions.stalled({KEY: 129}, now=100.0, patience=10.0)
    positions.restart_watch()
    assert positions.stalled({KEY: 129}, now=111.0, patience=10.0) == []
    assert positions.stalled({KEY: 129}, now=121.0, patience=10.0) != []

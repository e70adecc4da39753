"""Which changelog partitions of a table recovery the hub seeks back, and where to (no
broker: the decision only)."""

from streams.recovery_watch import stalled_changelogs

PATIENCE = 10.0


def test_records_left_and_none_received_since_the_start_are_read_from_0() -> None:
    assert stalled_changelogs(111.0, 100.0, {"a": 5}, {}, {"a": -1}, PATIENCE) == {"a": 0}


def test_a_partition_is_read_again_from_after_the_last_record_applied() -> None:
    targets = stalled_changelogs(130.0, 100.0, {"a": 3}, {"a": 115.0}, {"a": 41}, PATIENCE)
    assert targets == {"a": 42}


def test_a_partition_still_receiving_or_restored_is_left_alone() -> None:
    remaining = {"receiving": 7, "restored": 0, "young": 2}
    received = {"receiving": 125.0, "restored": 101.0}
    applied = {"receiving": 9, "restored": 99, "young": -1}
    # "young": nothing received, but the recovery began only 9.5 s ago
    assert stalled_changelogs(109.5, 100.0, remaining, received, applied, PATIENCE) == {}
    assert stalled_changelogs(130.0, 100.0, remaining, received, applied, PATIENCE) == {"young": 0}


def test_a_time_before_the_recovery_began_does_not_count() -> None:
    # A record of an earlier recovery, long ago: the patience counts from this one's start.
    assert stalled_changelogs(105.0, 100.0, {"a": 1}, {"a": 20.0}, {"a": 4}, PATIENCE) == {}


def test_no_applied_offset_known_reads_from_the_start() -> None:
    assert stalled_changelogs(200.0, 100.0, {"a": 1}, {}, {}, PATIENCE) == {"a": 0}

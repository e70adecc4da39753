"""Ports the local broker and test services are given: free, and out of the kernel's way."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from onestop.kafka import probe
from onestop.kafka.probe import ephemeral_first, free_port, port_free


def test_chosen_ports_are_free_and_below_the_ephemeral_range() -> None:
    first = ephemeral_first()
    for _ in range(50):
        base = free_port(3)
        assert base + 3 <= first
        assert all(port_free(base + i) for i in range(3))


def test_a_port_that_listens_is_not_free() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))
        sock.listen()
        assert not port_free(sock.getsockname()[1])


def test_the_ephemeral_range_is_read_from_proc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("40000\t60999\n")
    monkeypatch.setattr(probe, "_EPHEMERAL_RANGE", ranges)
    assert ephemeral_first() == 40000
    assert 20000 <= free_port() < 40000
    ranges.write_text("garbage")
    assert ephemeral_first() == 32768


def test_no_room_below_the_range_leaves_the_choice_to_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ranges = tmp_path / "ip_local_port_range"
    ranges.write_text("10000 60999")
    monkeypatch.setattr(probe, "_EPHEMERAL_RANGE", ranges)
    port = free_port()
    assert port >= 10000 and port_free(port)

"""The data directory of a local cluster: its plan, its record and its reuse rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from onestop.kafka.cluster_dir import ClusterDir
from onestop.kafka.errors import BrokerError
from onestop.kafka.probe import free_port


def test_first_plan_takes_consecutive_ports_and_new_directory_ids(tmp_path: Path) -> None:
    base = free_port(6)
    planned = ClusterDir(tmp_path, 3, base).plan(secure=False)
    assert [n.node_id for n in planned] == [1, 2, 3]
    assert [n.port for n in planned] == [base, base + 1, base + 2]
    assert [n.controller_port for n in planned] == [base + 3, base + 4, base + 5]
    ids = [n.directory_id for n in planned]
    assert all(ids) and len(set(ids)) == 3
    recorded = json.loads((tmp_path / "cluster.json").read_text())
    assert recorded["nodes"][1] == vars(planned[1]) and recorded["formatted"] is False


def test_a_formatted_cluster_keeps_its_recorded_nodes(tmp_path: Path) -> None:
    cluster = ClusterDir(tmp_path, 3, free_port(6))
    first = cluster.plan(secure=True)
    cluster.mark_formatted("cid")
    assert cluster.plan(secure=True) == first == cluster.nodes()
    assert cluster.state()["cluster_id"] == "cid" and cluster.recorded_secure() is True


def test_an_unformatted_plan_is_made_again(tmp_path: Path) -> None:
    cluster = ClusterDir(tmp_path, 3, free_port(6))
    first = cluster.plan(secure=False)
    assert {n.directory_id for n in cluster.plan(secure=False)}.isdisjoint(
        n.directory_id for n in first
    )


def test_a_single_brokers_data_dir_is_refused(tmp_path: Path) -> None:
    (tmp_path / "broker.json").write_text("{}")
    with pytest.raises(BrokerError, match="belongs to a single local broker"):
        ClusterDir(tmp_path, 3, 9092).check(secure=False)


def test_a_cluster_of_another_size_is_refused(tmp_path: Path) -> None:
    ClusterDir(tmp_path, 3, free_port(6)).plan(secure=False)
    with pytest.raises(BrokerError, match=r"cluster of 3 nodes, not 5.*--nodes 3"):
        ClusterDir(tmp_path, 5, 9092).check(secure=False)


def test_a_formatted_cluster_keeps_its_mode_and_ports(tmp_path: Path) -> None:
    base = free_port(6)
    cluster = ClusterDir(tmp_path, 3, base)
    cluster.plan(secure=False)
    cluster.mark_formatted("cid")
    cluster.check(secure=False)
    with pytest.raises(BrokerError, match="belongs to a plain broker"):
        cluster.check(secure=True)
    with pytest.raises(BrokerError, match=rf"uses ports from {base}.*--port {base}"):
        ClusterDir(tmp_path, 3, base + 100).check(secure=False)

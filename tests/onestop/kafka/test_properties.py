"""server.properties and storage-format arguments of local nodes (pure)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestop.kafka.properties import (
    NodeAddress,
    format_arguments,
    replication_for,
    server_properties,
)


def _parse(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    pairs = [line.split("=", 1) for line in lines]
    assert len({key for key, _ in pairs}) == len(pairs), "a key appears twice"
    return {key: value for key, value in pairs}


CLUSTER = [
    NodeAddress(1, 19092, 19095, "dir1dir1dir1dir1dir1dA"),
    NodeAddress(2, 19093, 19096, "dir2dir2dir2dir2dir2dA"),
    NodeAddress(3, 19094, 19097, "dir3dir3dir3dir3dir3dA"),
]


class TestSingleBroker:
    def test_plain_single_broker_keeps_its_settings(self) -> None:
        node = NodeAddress(1, 9092, 9093)
        settings = _parse(server_properties(node, [node], Path("/data/logs")))
        assert settings == {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": "127.0.0.1:9093",
            "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093",
            "advertised.listeners": "PLAINTEXT://127.0.0.1:9092",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": "/data/logs",
            "num.partitions": "1",
            "auto.create.topics.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
        }

    def test_single_broker_is_formatted_standalone(self) -> None:
        node = NodeAddress(1, 9092, 9093)
        assert format_arguments("cid", [node]) == ["-t", "cid", "--standalone"]


class TestCluster:
    def test_each_node_has_its_own_id_ports_and_log_dir(self) -> None:
        files = [
            _parse(server_properties(n, CLUSTER, Path(f"/c/node-{n.node_id}/logs")))
            for n in CLUSTER
        ]
        assert [f["node.id"] for f in files] == ["1", "2", "3"]
        assert len({f["listeners"] for f in files}) == 3
        assert len({f["log.dirs"] for f in files}) == 3
        assert files[1]["listeners"] == "PLAINTEXT://127.0.0.1:19093,CONTROLLER://127.0.0.1:19096"
        assert files[1]["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19093"

    def test_every_node_knows_the_whole_quorum(self) -> None:
        for node in CLUSTER:
            settings = _parse(server_properties(node, CLUSTER, Path("/logs")))
            assert settings["controller.quorum.bootstrap.servers"] == (
                "127.0.0.1:19095,127.0.0.1:19096,127.0.0.1:19097"
            )
            assert "controller.quorum.voters" not in settings  # a dynamic quorum

    def test_three_nodes_replicate_three_times_with_two_in_sync(self) -> None:
        settings = _parse(server_properties(CLUSTER[0], CLUSTER, Path("/logs")))
        assert settings["default.replication.factor"] == "3"
        assert settings["min.insync.replicas"] == "2"
        assert settings["offsets.topic.replication.factor"] == "3"
        assert settings["transaction.state.log.replication.factor"] == "3"
        assert settings["transaction.state.log.min.isr"] == "2"

    def test_cluster_is_formatted_with_the_same_initial_controllers_everywhere(self) -> None:
        args = format_arguments("cid", CLUSTER, ["--add-scram", "x"])
        assert args == [
            "-t",
            "cid",
            "--initial-controllers",
            "1@127.0.0.1:19095:dir1dir1dir1dir1dir1dA,"
            "2@127.0.0.1:19096:dir2dir2dir2dir2dir2dA,"
            "3@127.0.0.1:19097:dir3dir3dir3dir3dir3dA",
            "--add-scram",
            "x",
        ]

    def test_cluster_nodes_need_directory_ids(self) -> None:
        with pytest.raises(ValueError, match="directory id"):
            format_arguments("cid", [NodeAddress(1, 1, 2), NodeAddress(2, 3, 4)])

    def test_a_node_outside_the_quorum_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not one of"):
            server_properties(NodeAddress(9, 1, 2), CLUSTER, Path("/logs"))


class TestSecure:
    def test_client_listener_takes_scram_and_brokers_use_it_as_admin(self) -> None:
        settings = _parse(server_properties(CLUSTER[0], CLUSTER, Path("/l"), admin_password="pw"))
        assert settings["listeners"] == (
            "SASL_PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19095"
        )
        assert settings["advertised.listeners"] == "SASL_PLAINTEXT://127.0.0.1:19092"
        assert settings["listener.security.protocol.map"] == (
            "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
        )
        assert settings["inter.broker.listener.name"] == "SASL_PLAINTEXT"
        assert settings["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
        assert settings["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
        jaas = settings["listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config"]
        assert jaas == (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            'username="admin" password="pw";'
        )

    def test_controllers_authenticate_with_plain_as_admin(self) -> None:
        settings = _parse(server_properties(CLUSTER[0], CLUSTER, Path("/l"), admin_password="pw"))
        assert settings["sasl.mechanism.controller.protocol"] == "PLAIN"
        assert settings["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
        jaas = settings["listener.name.controller.plain.sasl.jaas.config"]
        assert 'username="admin" password="pw" user_admin="pw";' in jaas

    def test_acls_decide_and_only_admin_is_super(self) -> None:
        node = NodeAddress(1, 9092, 9093)
        settings = _parse(server_properties(node, [node], Path("/l"), admin_password="pw"))
        assert settings["authorizer.class.name"] == (
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        )
        assert settings["allow.everyone.if.no.acl.found"] == "false"
        assert settings["super.users"] == "User:admin"

    def test_plain_files_hold_no_sasl_settings(self) -> None:
        text = server_properties(CLUSTER[0], CLUSTER, Path("/l"))
        assert "sasl" not in text and "authorizer" not in text and "super.users" not in text


@pytest.mark.parametrize(
    ("brokers", "expected"), [(1, (1, 1)), (2, (2, 1)), (3, (3, 2)), (5, (3, 2))]
)
def test_replication_follows_the_broker_count(brokers: int, expected: tuple[int, int]) -> None:
    assert replication_for(brokers) == expected

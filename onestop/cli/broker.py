"""`onestop broker start|stop|status`: the local Kafka broker, or a local cluster
(`--nodes 3`), plain or secure (`--secure`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from onestop.kafka.broker import CLUSTER_FILE, DEFAULT_PORT, LocalBroker
from onestop.kafka.cluster import LocalCluster
from onestop.kafka.errors import BrokerError
from onestop.kafka.jars import KAFKA_VERSION, MavenMissingError
from onestop.kafka.java import JavaMissingError
from onestop.kafka.jvm import read_json
from onestop.kafka.secure import new_credentials, write_credentials

broker_app = typer.Typer(
    help=(
        f"Run a local Apache Kafka {KAFKA_VERSION} broker (KRaft) on 127.0.0.1: one node, "
        f"or a cluster with --nodes 3; SCRAM users and ACLs with --secure."
    ),
    no_args_is_help=True,
)

#: Exit code when Java or Maven is missing.
EXIT_MISSING_PREREQUISITE = 2
#: Exit code of other broker failures (and of `status` when no broker runs).
EXIT_FAILURE = 1

PortOption = Annotated[
    int,
    typer.Option(
        "--port", min=1, max=65535, help="Client port on 127.0.0.1 (of node 1 in a cluster)."
    ),
]
DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        file_okay=False,
        help=(
            "Data directory (default: the user data dir, broker-<port>, or cluster-<port> "
            "with --nodes; -secure appended with --secure)."
        ),
    ),
]
NodesOption = Annotated[
    int,
    typer.Option(
        "--nodes",
        min=1,
        max=9,
        help="Nodes (broker + controller each); 3 gives replication factor 3.",
    ),
]
SecureOption = Annotated[
    bool,
    typer.Option(
        "--secure",
        help=(
            "SASL_PLAINTEXT with SCRAM-SHA-512 users and ACLs; passwords in "
            "<data dir>/credentials.json."
        ),
    ),
]


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _setup_logging() -> None:
    """Show the broker's progress messages (INFO) on stderr."""
    logger = logging.getLogger("onestop.kafka")
    if not any(getattr(h, "_onestop_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        handler._onestop_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # the root handler would print each line twice


def _fail(exc: BrokerError) -> NoReturn:
    """Print ``exc`` in red on stderr (no traceback) and exit."""
    _stderr().print(Text(str(exc), style="red"), soft_wrap=True)
    missing = isinstance(exc, JavaMissingError | MavenMissingError)
    raise typer.Exit(EXIT_MISSING_PREREQUISITE if missing else EXIT_FAILURE)


def _local(port: int, data: Path | None, nodes: int, secure: bool) -> LocalBroker | LocalCluster:
    """The broker or cluster meant: what ``data`` holds when it exists, else the options."""
    if data is not None:
        state = read_json(data.expanduser() / CLUSTER_FILE)
        recorded = state.get("nodes")
        if isinstance(recorded, list) and recorded:
            nodes = len(recorded) if nodes == 1 else nodes
    if nodes > 1:
        return LocalCluster(nodes=nodes, port=port, data_dir=data, secure=secure)
    return LocalBroker(port=port, data_dir=data, secure=secure)


def _recorded_secure(target: LocalBroker | LocalCluster) -> LocalBroker | LocalCluster:
    """``target`` in the mode its data dir records (for `stop` and `status`)."""
    secure = target.status().secure
    if isinstance(target, LocalCluster):
        return LocalCluster(target.size, target.port, target.data_dir, secure=secure)
    return LocalBroker(target.port, target.data_dir, secure=secure)


@broker_app.command()
def start(
    port: PortOption = DEFAULT_PORT,
    data: DataOption = None,
    nodes: NodesOption = 1,
    secure: SecureOption = False,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1.0, help="Seconds to wait for the broker.")
    ] = 90.0,
) -> None:
    """Start the broker in the background (or reuse it) and print its bootstrap address."""
    _setup_logging()
    try:
        target = _local(port, data, nodes, secure)
        bootstrap = target.start(timeout=timeout)
    except BrokerError as exc:
        _fail(exc)
    except ValueError as exc:
        _fail(BrokerError(str(exc)))
    typer.echo(bootstrap)


@broker_app.command()
def stop(
    port: PortOption = DEFAULT_PORT,
    data: DataOption = None,
    nodes: NodesOption = 1,
    secure: SecureOption = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.0, help="Seconds to wait after SIGTERM before SIGKILL."),
    ] = 30.0,
) -> None:
    """Stop the broker (every node of a cluster) started by `onestop broker start`."""
    target = _local(port, data, nodes, secure)
    if isinstance(target, LocalCluster):
        try:
            stopped = target.stop(timeout=timeout)
        except BrokerError as exc:
            _fail(exc)
        for node_id, node_pid in stopped.items():
            typer.echo(f"Stopped Kafka node {node_id} (pid {node_pid}) of {target.data_dir}.")
        if not stopped:
            typer.echo(f"No local Kafka cluster is running for {target.data_dir}.")
        return
    pid = target.status().pid
    try:
        was_running = target.stop(timeout=timeout)
    except BrokerError as exc:
        _fail(exc)
    if was_running:
        typer.echo(f"Stopped the Kafka broker (pid {pid}) of {target.data_dir}.")
    else:
        typer.echo(f"No local Kafka broker is running for {target.data_dir}.")


@broker_app.command()
def status(
    port: PortOption = DEFAULT_PORT,
    data: DataOption = None,
    nodes: NodesOption = 1,
    secure: SecureOption = False,
) -> None:
    """Tell whether the broker (every node of a cluster) runs (exit code 0) or not (1)."""
    target = _recorded_secure(_local(port, data, nodes, secure))
    if isinstance(target, LocalCluster):
        cluster = target.status()
        up = sum(node.running for node in cluster.nodes)
        typer.echo(f"running:   {'yes' if cluster.running else 'no'} ({up} of {target.size} nodes)")
        typer.echo(f"bootstrap: {cluster.bootstrap}")
        typer.echo(f"data dir:  {cluster.data_dir}")
        typer.echo(f"secure:    {_security(cluster.secure)}")
        if cluster.credentials is not None:
            typer.echo(f"credentials: {cluster.credentials}")
        for node in cluster.nodes:
            pid = f"pid {node.pid}" if node.pid is not None else "-"
            alive = "running" if node.running else "stopped"
            typer.echo(f"node {node.node_id}:    {alive}, {pid}, {node.bootstrap}")
        if not cluster.running:
            raise typer.Exit(EXIT_FAILURE)
        return
    state = target.status()
    typer.echo(f"running:   {'yes' if state.running else 'no'}")
    typer.echo(f"pid:       {state.pid if state.pid is not None else '-'}")
    typer.echo(f"bootstrap: {state.bootstrap}")
    typer.echo(f"data dir:  {state.data_dir}")
    if state.secure:
        typer.echo(f"secure:    {_security(True)}")
        typer.echo(f"credentials: {state.credentials}")
    if not state.running:
        raise typer.Exit(EXIT_FAILURE)


@broker_app.command()
def credentials(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write credentials.json")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file")] = False,
) -> None:
    """Write fresh passwords for every principal to FILE (mode 0600), for a secure broker
    OneStop does not start itself (`docker compose --profile secure`, see deploy/README.md)."""
    if file.exists() and not force:
        _fail(BrokerError(f"{file} exists; keep it, or give --force to replace it"))
    write_credentials(file, new_credentials())
    typer.echo(f"wrote {file} (mode 0600)")


def _security(secure: bool) -> str:
    return "yes (SASL_PLAINTEXT, SCRAM-SHA-512, ACLs)" if secure else "no (PLAINTEXT)"

"""Load runs and benchmarks: the orchestration behind `onestop load` and `onestop bench`.

`run_load_against_hub` makes the topics of a namespace, starts a hub for it unless one
runs already, waits until a probe request is delivered, runs the open-loop load generator
(`producers.load`) and stops the hub it started.

`run_bench` measures on one broker, one after the other: (a) the raw passthrough
(`onestop.bench.passthrough`) at the highest sustained rate, the machine's limit for moving the
same records; (b) the hub at its highest sustained rate; the hub's latency at half that
rate; and, in a fresh interpreter, memory per open request and the cost of finding due
deadlines (`onestop.bench.capacity`). `append_benchmarks` adds a dated row to BENCHMARKS.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from onestop.bench.capacity import CapacityReport
from onestop.kafka.credentials import KafkaLogins
from onestop.kafka.jars import KAFKA_VERSION
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.rights import check_rights, sender_needs, watcher_needs
from onestop.kafka.services import ServiceError, ServiceProcess, hub_process
from onestop.kafka.topics import ensure_topics
from onestop.paths import BENCHMARKS_PATH
from producers.load.generator import LoadGenerator
from producers.load.machine import describe_machine, machine_line
from producers.load.results import LoadResult, LoadStep, LoadTick
from producers.load.settings import LoadSettings, load_nodes
from schemas.access import ADMIN, READER, KafkaTarget, client_options
from schemas.enums import Country
from schemas.topics import Topics

PROBE_SECONDS: Final = 120.0
STOP_SECONDS: Final = 30.0
CAPACITY_SECONDS: Final = 600.0
TARGET_RATIO: Final = 0.5  # hub max throughput >= 50 % of the raw passthrough's
TARGET_P99_MS: Final = 50.0  # p99 end-to-end latency at half the hub's max rate

Progress = Callable[[str], None]


def passthrough_process(bootstrap: str, topics: Topics, workdir: Path) -> ServiceProcess:
    """`python -m onestop.bench.passthrough` for `topics`."""
    argv = [
        sys.executable, "-m", "onestop.bench.passthrough",
        "--bootstrap", bootstrap,
        "--namespace", topics.namespace,
        "--partitions", str(topics.partitions),
    ]  # fmt: skip
    return ServiceProcess("passthrough", argv, workdir / f"passthrough-{topics.namespace}.log")


async def hub_is_running(
    bootstrap: KafkaTarget, namespace: str, wait_seconds: float = 10.0
) -> bool:
    """Whether the hub's consumer group of `namespace` has members now. A broker without a
    ready group coordinator (a fresh one creates its offsets topic on the first question
    and answers "not available" or "loading" meanwhile) is asked again for up to
    `wait_seconds`; if it still has none, no group can have members."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=10_000)
    await admin.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_seconds
        while True:
            try:
                responses = await admin.describe_consumer_groups([f"{namespace}-hub"])
                break
            except KafkaError as exc:  # coordinator not available, loading, moved
                if not exc.retriable:
                    raise
                if loop.time() > deadline:
                    return False
                await asyncio.sleep(0.5)
    finally:
        await admin.close()
    for response in responses:
        for group in response.to_object()["groups"]:
            if group["members"]:
                return True
    return False


async def delete_namespace_topics(bootstrap: KafkaTarget, namespace: str) -> list[str]:
    """Delete every topic of `namespace` (OneStop's and the hub's internal ones); return
    their names. For the throw-away namespaces of load runs and benchmarks only."""
    admin = AIOKafkaAdminClient(**client_options(bootstrap), request_timeout_ms=30_000)
    await admin.start()
    try:
        doomed = [
            name
            for name in await admin.list_topics()
            if name.startswith((f"{namespace}.", f"{namespace}-"))
        ]
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    finally:
        await admin.close()


def fresh_namespace(prefix: str = "load") -> str:
    """A namespace no earlier run used, e.g. `load-20260302-080000-3f9a`."""
    return f"{prefix}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:4]}"


def kafka_version_for(bootstrap: str) -> str:
    """The broker's version as far as we know it: OneStop only runs brokers on this host
    from the pinned jars (or the compose image of the same version)."""
    hosts = {part.rsplit(":", 1)[0] for part in bootstrap.split(",")}
    if hosts <= {"127.0.0.1", "localhost", "::1", "[::1]"}:
        return f"{KAFKA_VERSION} (pinned)"
    return "unknown (external)"


async def drive_load(
    bootstrap: str,
    topics: Topics,
    settings: list[LoadSettings],
    *,
    service: ServiceProcess | None = None,
    on_tick: Callable[[LoadTick], None] | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
    progress: Progress | None = None,
    next_settings: Callable[[LoadResult], LoadSettings] | None = None,
    logins: KafkaLogins | None = None,
) -> list[LoadResult]:
    """Probe until delivered, then run each of `settings` in turn on one generator; with
    `next_settings`, one more run made from the last result. A `service` that exits
    while we wait is reported with its log. With secure `logins`, each node sends as its
    party and the deliveries are read as ``reader``."""
    nodes = max(s.nodes for s in settings)
    version = kafka_version_for(bootstrap)
    reader: KafkaTarget = bootstrap
    party_access = None
    if logins is not None and logins.secure:
        reader = logins.access(READER)
        party_access = {party: logins.access(party.value) for party in load_nodes(nodes)}
        await check_rights(logins.access(READER), watcher_needs(topics, load_nodes(nodes)))
        for party, login in party_access.items():
            await check_rights(login, sender_needs(topics, party))
    async with LoadGenerator(reader, topics, nodes, party_access) as generator:
        probe = asyncio.create_task(generator.probe(PROBE_SECONDS))
        try:
            while not probe.done():
                await asyncio.wait({probe}, timeout=0.5)
                if service is not None and service.exit_code() is not None:
                    raise ServiceError(
                        f"the {service.name} exited with code {service.exit_code()} before "
                        f"it was ready; its log ({service.log_path}) ends:\n"
                        f"{service.log_tail()}"
                    )
            waited = probe.result()
        finally:
            if not probe.done():
                probe.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await probe
        if progress is not None:
            progress(f"probe delivered after {waited:.1f} s")
        results: list[LoadResult] = []
        for current in settings:
            results.append(await generator.load(current, on_tick, on_step, version))
        if next_settings is not None:
            current = next_settings(results[-1])
            if progress is not None:
                progress(f"next run: {current.rate} msg/s for {current.duration:.0f} s")
            results.append(await generator.load(current, on_tick, on_step, version))
        return results


def run_load_against_hub(
    bootstrap: str,
    topics: Topics,
    settings: LoadSettings,
    workdir: Path,
    *,
    on_tick: Callable[[LoadTick], None] | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
    progress: Progress | None = None,
    delete_topics: bool = False,
    logins: KafkaLogins | None = None,
) -> LoadResult:
    """Topics, a hub unless one runs for the namespace, the load, the hub stopped again;
    with `delete_topics`, the namespace's topics deleted at the end (a throw-away
    namespace). Blocking; call outside an event loop. With secure `logins` every part
    logs in as its own principal (topics and their deletion as ``admin``)."""
    say = progress or (lambda _text: None)
    kafka = logins or KafkaLogins(bootstrap)
    asyncio.run(prepare_namespace(kafka, topics, tuple(Country)))
    hub: ServiceProcess | None = None
    if asyncio.run(hub_is_running(kafka.access(READER), topics.namespace)):
        say(f"a hub is running for namespace {topics.namespace}: using it")
    else:
        parties = load_nodes(settings.nodes)
        extra = kafka.arguments()
        hub = hub_process(bootstrap, topics, workdir, parties=parties, extra=extra).start()
        say(f"started a hub for namespace {topics.namespace} (log: {hub.log_path})")
    try:
        results = asyncio.run(
            drive_load(
                bootstrap,
                topics,
                [settings],
                service=hub,
                on_tick=on_tick,
                on_step=on_step,
                progress=say,
                logins=kafka,
            )
        )
        return results[0]
    finally:
        if hub is not None:
            hub.stop()
            say("stopped the hub")
        if delete_topics and kafka.has(ADMIN):
            deleted = asyncio.run(delete_namespace_topics(kafka.access(ADMIN), topics.namespace))
            say(f"deleted the {len(deleted)} topics of namespace {topics.namespace}")


# ---- the benchmark ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchReport:
    """One benchmark run. Throughputs in messages per second (delivered), latencies in ms,
    memory in bytes, deadline lookups in microseconds."""

    date: str
    machine: dict[str, Any]
    raw: LoadResult
    hub: LoadResult
    hub_half: LoadResult
    capacity: CapacityReport
    hub_cpu_seconds: float | None = None  # hub process, during the half-max-rate run

    @property
    def hub_cpu_us_per_message(self) -> float | None:
        """Hub CPU (all threads) per delivered message at half its max rate, in us."""
        if self.hub_cpu_seconds is None or not self.hub_half.delivered:
            return None
        return self.hub_cpu_seconds / self.hub_half.delivered * 1e6

    @property
    def ratio(self) -> float:
        """Hub throughput as a share of the raw passthrough's (at their max rates)."""
        return self.hub.throughput / self.raw.throughput if self.raw.throughput else 0.0

    @property
    def targets_met(self) -> dict[str, bool]:
        """hub >= 50 % of raw; p99 <= 50 ms at half the hub's max rate."""
        return {
            "hub_vs_raw": self.ratio >= TARGET_RATIO,
            "p99_at_half_max": self.hub_half.latency_ms["p99"] <= TARGET_P99_MS,
        }

    def as_json(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "date": self.date,
            "machine": self.machine,
            "raw_passthrough": self.raw.as_json(),
            "hub": self.hub.as_json(),
            "hub_at_half_max": self.hub_half.as_json(),
            "hub_cpu_us_per_message_at_half_max": self.hub_cpu_us_per_message,
            "hub_vs_raw": self.ratio,
            "capacity": self.capacity.as_json(),
            "targets": {"hub_vs_raw": TARGET_RATIO, "p99_ms_at_half_max": TARGET_P99_MS},
            "targets_met": self.targets_met,
        }


def measure_capacity_subprocess(workdir: Path) -> CapacityReport:
    """`python -m onestop.bench.capacity` in a fresh interpreter (clean RSS), parsed."""
    completed = subprocess.run(
        [sys.executable, "-m", "onestop.bench.capacity"],
        capture_output=True,
        timeout=CAPACITY_SECONDS,
        check=False,
        cwd=workdir,
    )
    if completed.returncode != 0:
        raise ServiceError(
            f"the capacity measurement failed with code {completed.returncode}:\n"
            f"{completed.stderr.decode(errors='replace')[-3000:]}"
        )
    return CapacityReport.from_json(json.loads(completed.stdout))


def _max_settings(base: LoadSettings) -> LoadSettings:
    return replace(base, rate="max")


def run_bench(
    bootstrap: str,
    duration: float,
    *,
    workdir: Path | None = None,
    step_seconds: float = 5.0,
    nodes: int = 4,
    progress: Progress | None = None,
    on_step: Callable[[LoadStep], None] | None = None,
) -> BenchReport:
    """The whole benchmark on `bootstrap`; the half-max-rate latency run lasts `duration`
    seconds, each max-rate search step `step_seconds`. Blocking; call outside a loop."""
    say = progress or (lambda _text: None)
    with _workdir(workdir) as work:
        base = LoadSettings(rate="max", duration=duration, nodes=nodes, step_seconds=step_seconds)

        raw_topics = Topics(fresh_namespace("bench-raw"))
        asyncio.run(ensure_topics(bootstrap, raw_topics, tuple(Country)))
        say(f"(a) raw passthrough, namespace {raw_topics.namespace}: searching the max rate")
        with passthrough_process(bootstrap, raw_topics, work) as passthrough:
            (raw,) = asyncio.run(
                drive_load(
                    bootstrap,
                    raw_topics,
                    [_max_settings(base)],
                    service=passthrough,
                    on_step=on_step,
                    progress=say,
                )
            )
        asyncio.run(delete_namespace_topics(bootstrap, raw_topics.namespace))
        say(f"(a) raw passthrough sustains {raw.max_rate:.0f} msg/s")

        hub_topics = Topics(fresh_namespace("bench-hub"))
        asyncio.run(ensure_topics(bootstrap, hub_topics, tuple(Country)))
        say(f"(b) hub, namespace {hub_topics.namespace}: searching the max rate")

        cpu_at_half: list[float | None] = []

        def half_of(result: LoadResult) -> LoadSettings:
            cpu_at_half.append(hub.cpu_seconds())
            return replace(base, rate=max((result.max_rate or 2.0) / 2, 1.0))

        with hub_process(bootstrap, hub_topics, work, parties=load_nodes(base.nodes)) as hub:
            hub_max, hub_half = asyncio.run(
                drive_load(
                    bootstrap,
                    hub_topics,
                    [_max_settings(base)],
                    service=hub,
                    on_step=on_step,
                    progress=say,
                    next_settings=half_of,
                )
            )
            cpu_at_end = hub.cpu_seconds()
        started = cpu_at_half[0] if cpu_at_half else None
        hub_cpu = cpu_at_end - started if cpu_at_end is not None and started is not None else None
        asyncio.run(delete_namespace_topics(bootstrap, hub_topics.namespace))
        say(f"(b) hub sustains {hub_max.max_rate:.0f} msg/s")
        say("(c, d) memory per open request and deadline lookup cost")
        capacity = measure_capacity_subprocess(work)
    return BenchReport(
        date=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        machine=describe_machine(kafka_version_for(bootstrap)),
        raw=raw,
        hub=hub_max,
        hub_half=hub_half,
        capacity=capacity,
        hub_cpu_seconds=hub_cpu,
    )


@contextlib.contextmanager
def _workdir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        given.mkdir(parents=True, exist_ok=True)
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="onestop-bench-") as made:
        yield Path(made)


# ---- BENCHMARKS.md ---------------------------------------------------------------------------

BENCHMARKS_HEADER: Final = """\
# OneStop benchmarks

Rows are appended by `onestop bench` (one run, one broker, on the machine named in the
row); keep the rows the machines produced. Every figure comes from the open-loop load
generator (`producers/load.py`): messages are sent at their intended times whatever the
receiver does, and latency is counted from the intended send time to the moment the inbox
copy is read, so a stalled sender cannot hide latency. The generator, the service under
test and the broker share the machine's CPUs, so the raw figure is also bounded by the
generator itself; compare rows of the same machine.

Columns:

- **raw max**: highest offered rate (messages/s) that a raw aiokafka passthrough
  (`onestop/passthrough.py`: outbox record copied unchanged to an inbox, no hub logic)
  sustains: at the end of a step the backlog is below one second of traffic and at least
  90 % of the offered rate came out. The machine's limit for moving these records.
- **hub max**: the same search through the hub (`onestop hub`).
- **hub/raw**: hub throughput over raw throughput (delivered messages/s at the max rates).
  Target: **>= 50 %**.
- **p50 / p99 / p99.9 @ rate**: end-to-end latency through the hub (ms) in a run at half
  the hub's max rate. Target: **p99 <= 50 ms**.
- **hub CPU us/msg**: CPU time of the hub process (all its threads, user + system) per
  delivered message during that run: steadier than the max rates on a shared machine.
- **B/open req**: resident memory per open request in the hub's table (JSON bytes keyed by
  request id, as `streams.worker.RequestStore` keeps them) + its deadline index entry, measured
  over 1,000,000 requests.
- **due() 1k / 1M**: microseconds for `DeadlineIndex.due()` to take the same 100 due
  entries out of 1,000 and out of 1,000,000 open requests (a full scan of 1M: see JSON).
- **targets**: which targets the row meets.

"""
BENCHMARK_COLUMNS: Final = (
    "date (UTC)",
    "machine",
    "raw max msg/s",
    "hub max msg/s",
    "hub/raw",
    "p50 / p99 / p99.9 ms @ rate",
    "hub CPU us/msg",
    "B/open req (table + index)",
    "due() 1k / 1M us",
    "targets",
)


def benchmark_row(report: BenchReport) -> str:
    """The BENCHMARKS.md table row of `report`."""
    latency = report.hub_half.latency_ms
    memory = report.capacity.memory
    scans = {scan.open_requests: scan for scan in report.capacity.deadlines}
    small, large = scans.get(1_000), scans.get(1_000_000)
    due = (
        f"{small.due_us_median:.0f} / {large.due_us_median:.0f}"
        if small is not None and large is not None
        else "-"
    )
    met = report.targets_met
    targets = ", ".join(
        f"{name} {'met' if ok else 'MISSED'}"
        for name, ok in (("hub/raw", met["hub_vs_raw"]), ("p99", met["p99_at_half_max"]))
    )
    cells = [
        report.date,
        machine_line(report.machine),
        f"{report.raw.max_rate or 0:.0f}",
        f"{report.hub.max_rate or 0:.0f}",
        f"{report.ratio:.1%}",
        f"{latency['p50']:.1f} / {latency['p99']:.1f} / {latency['p99_9']:.1f} "
        f"@ {report.hub_half.offered_rate:.0f}/s",
        f"{cpu:.0f}" if (cpu := report.hub_cpu_us_per_message) is not None else "-",
        f"{memory.table_bytes_per_request:.0f} + {memory.index_bytes_per_request:.0f}",
        due,
        targets,
    ]
    return "| " + " | ".join(cells) + " |\n"


def append_benchmarks(report: BenchReport, path: Path = BENCHMARKS_PATH) -> None:
    """Append the row of `report` to `path`, writing the header first if it is new."""
    if not path.exists() or not path.read_text().strip():
        columns = "| " + " | ".join(BENCHMARK_COLUMNS) + " |\n"
        rule = "|" + "---|" * len(BENCHMARK_COLUMNS) + "\n"
        path.write_text(BENCHMARKS_HEADER + columns + rule)
    with path.open("a") as out:
        out.write(benchmark_row(report))


def write_json(path: Path, data: dict[str, Any]) -> None:
    """`data` as indented JSON at `path` (parent folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(value: object) -> object:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)  # type: ignore[call-overload]
    return str(value)

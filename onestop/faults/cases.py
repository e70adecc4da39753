"""The fault cases, each against real processes on a real broker, each judged by
`FaultBench.verdict` (nothing lost, the chain intact, the Art. 18 counts right).

- `workers`: two hub workers under load; one SIGKILLed, a fresh one started later (2 -> 1 -> 2).
- `hub_restart`: the only hub worker SIGKILLed under load and started again.
- `broker_restart`: a broker of its own stopped under load for ten seconds and started again.
- `cluster_broker_kill`: in a three-broker cluster of its own, one broker SIGKILLed under load
  and brought back; the time to recover is reported.
- `node_kill`: the process of the simulated nodes SIGKILLed and restarted while they answer:
  every request they had read is answered, none twice in effect.
- `outage`: a scenario's SIENA outage window: requests sent in it fall back to another
  channel under Art. 13(c), with the reason recorded, and keep their Directive limit.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from onestop.audit.source import load_audit
from onestop.exercise.clock_control import publish_clock
from onestop.exercise.runner import ExerciseOptions, ExerciseRunner
from onestop.exercise.scenario import Scenario
from onestop.faults.harness import CaseResult, FaultBench
from onestop.kafka.broker import LocalBroker
from onestop.kafka.cluster import LocalCluster
from onestop.kafka.probe import free_port
from onestop.kafka.services import ServiceProcess
from schemas.audit import AuditEvent
from schemas.audit_details import ReceivedDetails
from schemas.clock import ClockAction, ClockCommand, ExerciseSetup
from schemas.enums import Channel
from schemas.profiles import AnswerTime, NodeProfile
from streams.settings import DEFAULT_INPUT, InputPath

Case = Callable[[str, Path, "Scale"], Awaitable[CaseResult]]


@dataclass(frozen=True)
class Scale:
    """How hard a case pushes: offered rate (messages a second) and load seconds; and the
    hub workers' input path (`onestop hub --input`)."""

    rate: float = 100.0
    seconds: float = 30.0
    hub_input: InputPath = DEFAULT_INPUT


SHORT = Scale(rate=100.0, seconds=24.0)
LONG = Scale(rate=200.0, seconds=60.0)


async def workers(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """Two workers; at a third of the load one is SIGKILLed, at two thirds a fresh one
    joins: partitions move twice while records are in flight."""
    bench = FaultBench(bootstrap, workdir, hub_input=scale.hub_input)
    await bench.prepare()
    bench.start_hub()
    bench.start_hub()
    try:
        await bench.wait_for_hubs()

        async def kill() -> None:
            bench.kill_hub(0)

        async def join() -> None:
            bench.start_hub()

        third = scale.seconds / 3
        run = await bench.load(scale.rate, scale.seconds, [(third, kill), (2 * third, join)])
        return await bench.verdict("hub workers 2 -> 1 -> 2", run, scale.rate)
    finally:
        bench.stop()


async def hub_restart(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """The only worker SIGKILLed mid-load and a new one started at once."""
    bench = FaultBench(bootstrap, workdir, hub_input=scale.hub_input)
    await bench.prepare()
    bench.start_hub()
    try:
        await bench.wait_for_hubs()

        async def crash() -> None:
            bench.kill_hub(0)
            bench.start_hub()

        run = await bench.load(scale.rate, scale.seconds, [(scale.seconds / 2, crash)])
        return await bench.verdict("hub SIGKILL and restart", run, scale.rate)
    finally:
        bench.stop()


async def broker_restart(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """A broker of the case's own, stopped for ten seconds in the middle of the load."""
    broker = LocalBroker(port=free_port(), data_dir=workdir / "broker")
    address = await asyncio.to_thread(broker.start)
    bench = FaultBench(address, workdir, hub_input=scale.hub_input)
    try:
        await bench.prepare()
        bench.start_hub()
        await bench.wait_for_hubs()

        async def outage() -> None:
            await asyncio.to_thread(broker.stop)
            await asyncio.sleep(10)
            await asyncio.to_thread(broker.start)

        run = await bench.load(scale.rate, scale.seconds, [(scale.seconds / 3, outage)])
        return await bench.verdict("broker stopped and restarted", run, scale.rate)
    finally:
        bench.stop()
        await asyncio.to_thread(broker.stop)


async def cluster_broker_kill(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """In a three-broker cluster of the case's own (replication 3, two in sync), one
    broker SIGKILLed under load and started again ten seconds later."""
    cluster = LocalCluster(nodes=3, port=free_port(), data_dir=workdir / "cluster")
    address = await asyncio.to_thread(cluster.start)
    bench = FaultBench(address, workdir, hub_input=scale.hub_input)
    try:
        await bench.prepare()
        bench.start_hub()
        await bench.wait_for_hubs()
        victim = cluster.nodes[0].node_id

        async def crash() -> None:
            await asyncio.to_thread(cluster.kill_node, victim)
            await asyncio.sleep(10)
            await asyncio.to_thread(cluster.start_node, victim)

        run = await bench.load(scale.rate, scale.seconds, [(scale.seconds / 3, crash)])
        return await bench.verdict("cluster: one broker SIGKILLed", run, scale.rate)
    finally:
        bench.stop()
        await asyncio.to_thread(cluster.stop)


PROMPT = NodeProfile(
    answer_time=AnswerTime(median_minutes=30, sigma=0),
    urgent_answer_time=AnswerTime(median_minutes=30, sigma=0),
    refusal_share=0,
    clarification_share=0,
    judicial_share=0,
    partial_share=0,
)


async def node_kill(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """The simulated nodes answer the load's requests (half an exercise hour, at 3600
    exercise seconds a second); their process is SIGKILLed mid-load and started again.
    Every request is answered once in effect: the restarted nodes answer again what they
    had read and not yet answered, with the same message ids, which the hub recognises."""
    bench = FaultBench(bootstrap, workdir, hub_input=scale.hub_input)
    await bench.prepare()
    await publish_clock(
        bootstrap,
        bench.topics,
        ClockCommand(
            exercise_id=bench.topics.namespace,
            action=ClockAction.START,
            issued_at=datetime.now(UTC),
            exercise_start=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
            speed=3600,
            setup=ExerciseSetup(profiles=dict.fromkeys(bench.parties, PROMPT)),
        ),
    )
    bench.start_hub()
    nodes: list[ServiceProcess] = []

    def start_nodes() -> None:
        argv = [
            sys.executable, "-m", "onestop", "nodes", *(p.value for p in bench.parties),
            "--bootstrap", bootstrap, "--namespace", bench.topics.namespace,
            "--metrics-port", str(free_port()),
        ]  # fmt: skip
        nodes.append(ServiceProcess("nodes", argv, workdir / f"nodes-{len(nodes)}.log").start())

    start_nodes()
    try:
        await bench.wait_for_hubs()

        async def crash() -> None:
            process = nodes[-1].process
            if process is not None:
                process.kill()
                process.wait(10)
            nodes[-1].stop()
            start_nodes()

        run = await bench.load(scale.rate / 2, scale.seconds, [(scale.seconds / 2, crash)])
        result = await bench.verdict("simulated nodes SIGKILLed", run, scale.rate / 2)
        return await _answered_once(bench, result)
    finally:
        for process in nodes:
            process.stop()
        bench.stop()


async def _answered_once(bench: FaultBench, result: CaseResult) -> CaseResult:
    """The verdict, and whether every request was settled by exactly one answer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 90
    while True:
        records = (await load_audit(bench.topics.audit, bench.bootstrap)).records()
        opened = {r.request_id for r in records if r.event is AuditEvent.RECEIVED}
        settled = [r for r in records if r.event in (AuditEvent.ANSWERED, AuditEvent.REFUSED)]
        once = {r.record_id: r.request_id for r in settled}  # a record id is written once
        if set(once.values()) >= opened or loop.time() > deadline:
            break
        await asyncio.sleep(1)
    unanswered = len(opened - set(once.values()))
    twice = len(once) - len(set(once.values()))
    notes = f"{unanswered} unanswered, {twice} answered twice"
    return CaseResult(
        **{**result.__dict__, "lost": result.lost + unanswered + twice, "notes": notes}
    )


OUTAGE_SCENARIO = {
    "name": "SIENA outage",
    "clock": {"start": "2026-03-02T08:00:00Z", "speed": 7200, "end": "12:00"},
    "seed": 13,
    "nodes": {
        "PL": {"profile": {"outages": [{"channel": "siena", "start_minutes": 60,
                                        "end_minutes": 240}]}},
        "LT": {},
        "DE": {},
    },
    "injects": [
        {"id": "before", "at": "00:30", "from": "LT", "to": "PL", "urgency": "urgent",
         "urgency_reason": "threat to life"},
        {"id": "during-1", "at": "01:30", "from": "DE", "to": "PL", "urgency": "urgent",
         "urgency_reason": "threat to life"},
        {"id": "during-2", "at": "02:30", "from": "PL", "to": "LT"},
        {"id": "after", "at": "05:00", "from": "LT", "to": "PL"},
    ],
}  # fmt: skip


async def outage(bootstrap: str, workdir: Path, scale: Scale) -> CaseResult:
    """A scenario with SIENA down from 01:00 to 04:00: the requests sent in the window go
    over Interpol I-24/7 under Art. 13(c) with the reason recorded and the Directive's
    limit kept; those before and after go over SIENA."""
    scenario = Scenario.model_validate(OUTAGE_SCENARIO)
    namespace = FaultBench(bootstrap, workdir).topics.namespace
    runner = ExerciseRunner(scenario, ExerciseOptions(bootstrap=bootstrap, namespace=namespace))
    result = await runner.run()
    received = {
        r.request_id.rsplit(".", 1)[1]: r
        for r in result.records
        if r.event is AuditEvent.RECEIVED and r.request_id
    }
    wrong = []
    for name, record in received.items():
        details = record.details
        assert isinstance(details, ReceivedDetails)
        during = name.startswith("during")
        expected = Channel.INTERPOL_I247 if during else Channel.SIENA
        if record.channel is not expected:
            wrong.append(f"{name} over {record.channel}")
        if during and (
            details.fallback_from is not Channel.SIENA
            or "13(c)" not in (details.route_reason or "")
        ):
            wrong.append(f"{name}: no Art. 13(c) fallback recorded")
        if details.limit_basis is None or details.limit_basis.value != "directive_2023_977":
            wrong.append(f"{name}: limit basis {details.limit_basis}")
    settled = sum(1 for o in result.outcomes.values() if o is not None)
    return CaseResult(
        case="SIENA outage window",
        sent=len(scenario.injects),
        delivered=len(received),
        deadlettered=0,
        duplicates=0,
        lost=len(scenario.injects) - len(received) + len(wrong),
        recovery_seconds=None,
        chain_intact=True,
        art18_matches=settled == len(scenario.injects),
        notes="; ".join(wrong) or "fallbacks as Art. 13(c) says",
    )


CASES: dict[str, Case] = {
    "workers": workers,
    "hub_restart": hub_restart,
    "broker_restart": broker_restart,
    "cluster_broker_kill": cluster_broker_kill,
    "node_kill": node_kill,
    "outage": outage,
}

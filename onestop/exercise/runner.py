"""Plays a scenario: publishes the clock, starts the hub and the nodes when none run,
sends the injects and the background traffic in exercise time, follows the audit trail for
live progress, and ends the exercise.

The same scenario and seed give the same exercise (see the README, "Same seed, same
exercise"): every random choice is drawn from the seed and a request's name in the scenario,
never from the run id or the wall clock; every message is stamped with the exercise moment
it was planned for. The end is chosen so that it does not depend on timing either: the
exercise ends once every inject is settled and no background traffic is left to send, or
at the scenario's end time; nothing new is sent after that, and the requests already sent
get up to the clock's `grace` (exercise time) to settle before the clock is ended.

On a secure broker (`ExerciseOptions.logins` with credentials) every part logs in as its
own principal: topics and ACLs as ``admin``, the clock, the audit follower and the group
checks as ``clock``, each party's node as that party, the hub it starts as ``hub`` (its
subprocess gets the same credentials file). Before anything starts, each principal's
rights are checked (`onestop.kafka.rights`), so a missing one ends the run at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from onestop.exercise.clock_control import publish_clock
from onestop.exercise.plan import ExercisePlan, Send
from onestop.exercise.progress import ExerciseProgress
from onestop.exercise.scenario import Scenario
from onestop.kafka.credentials import KafkaLogins
from onestop.kafka.groups import active_groups, wait_until_stable
from onestop.kafka.namespace import prepare_namespace
from onestop.kafka.rights import check_rights, clock_needs, node_needs, sender_needs
from onestop.kafka.services import ServiceProcess, hub_process
from producers.host import NodeHost
from schemas.access import CLOCK, KafkaAccess, client_options
from schemas.audit import AuditRecord
from schemas.audit_details import ControlDetails
from schemas.clock import ChannelOutage, ClockAction, ClockCommand, ExerciseSetup
from schemas.enums import Country, Outcome
from schemas.topics import Topics

TICK_SECONDS = 0.25


class ExerciseError(RuntimeError):
    """The exercise could not run; the message says why."""


@dataclass
class ExerciseOptions:
    """How to run a scenario."""

    bootstrap: str
    namespace: str = "onestop"
    partitions: int = 4
    speed: float | None = None
    seed: int | None = None
    run_id: str | None = None
    # Credentials of a secure broker (None: a plain one at `bootstrap`); a hub started
    # for the run gets their file.
    logins: KafkaLogins | None = None


@dataclass
class Snapshot:
    """What the live display shows."""

    exercise_time: datetime
    injects_sent: int
    injects_total: int
    background_sent: int
    open: int
    overdue: int
    answered: int
    refused: int
    rejected: int
    ending: bool = False  # past the end: only the requests already sent still run


@dataclass
class ExerciseResult:
    """How a run went, and the audit records it produced (with partition and offset)."""

    run_id: str
    namespace: str
    seed: int
    speed: float
    started_hub: bool
    ended_by: str  # "settled", "end time" or "ended" (by hand)
    exercise_start: datetime
    exercise_end: datetime
    records: list[AuditRecord] = field(default_factory=list)
    injects: dict[str, str] = field(default_factory=dict)  # inject id -> request id
    outcomes: dict[str, Outcome | None] = field(default_factory=dict)
    unsettled: int = 0  # requests still open when the grace period ran out


def default_run_id(scenario: Scenario) -> str:
    """`<scenario slug>-<UTC wall time>`: request ids stay unique across runs."""
    slug = "".join(c if c.isalnum() else "-" for c in scenario.name.lower()).strip("-")
    return f"{slug[:24]}-{datetime.now(UTC):%Y%m%d%H%M%S}"


def exercise_setup(scenario: Scenario, seed: int) -> ExerciseSetup:
    """What every component must know of the scenario: for the hub the rules, PCCCs,
    liaison officers and outages; for the nodes the seed and the parties' profiles."""
    start = scenario.clock.start
    outages = [
        ChannelOutage(
            channel=o.channel,
            start=start + timedelta(minutes=o.start_minutes),
            end=start + timedelta(minutes=o.end_minutes),
        )
        for spec in scenario.nodes.values()
        for o in spec.profile.outages
    ]
    return ExerciseSetup(
        seed=seed,
        profiles={country: spec.profile for country, spec in scenario.nodes.items()},
        trainees=sorted(scenario.trainee_parties),
        exercise_end=scenario.clock.start + scenario.clock.end,
        rules=scenario.rule_set,
        pcccs=scenario.pcccs,
        liaison_officers=scenario.liaison_officers,
        outages=outages,
    )


class ExerciseRunner:
    """One run of one scenario."""

    def __init__(
        self,
        scenario: Scenario,
        options: ExerciseOptions,
        on_snapshot: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.scenario = scenario
        self.options = options
        self.logins = options.logins or KafkaLogins(options.bootstrap)
        self.clock_access = self.logins.access(CLOCK)
        self.on_snapshot = on_snapshot
        self.run_id = options.run_id or default_run_id(scenario)
        self.seed = scenario.seed if options.seed is None else options.seed
        self.speed = options.speed or scenario.clock.speed
        self.topics = Topics(options.namespace, options.partitions)
        self.start = scenario.clock.start
        self.end = self.start + scenario.clock.end
        self.progress = ExerciseProgress(on_outcome=self._on_outcome)
        self.plan = ExercisePlan(scenario, self.run_id, self.seed)
        self.seen_requests: set[str] = set()
        self.records: list[AuditRecord] = []
        self.host: NodeHost | None = None
        self.closing = False  # past the end: nothing new is sent
        self.ended_by_hand = asyncio.Event()
        self.end_reason = "the exercise is over"
        self.end_actor = "exercise runner"
        self._hub: ServiceProcess | None = None

    async def run(self) -> ExerciseResult:
        """Play the scenario to its end and return what happened."""
        opts = self.options
        await prepare_namespace(self.logins, self.topics, list(Country))
        party_access = await self._check_rights()
        started_hub = await self._ensure_hub()
        unsettled = 0
        try:
            if started_hub:
                await self._wait_for_hub()
            audit_from = await self._audit_ends()
            running_nodes = await self._running_nodes()
            profiles = {c: s.profile for c, s in self.scenario.nodes.items()}
            self.host = NodeHost(
                self.clock_access,
                self.topics,
                profiles,
                seed=self.seed,
                answering=self._answering(running_nodes),
                exercise_id=self.run_id,
                party_access=party_access,
            )
            await self.host.start()
            if self.run_id in self.host.clock.exercises:
                raise ExerciseError(
                    f"run id {self.run_id!r} was used before on namespace {opts.namespace!r}: "
                    "its requests would be taken for the earlier run's; give another --run-id "
                    "(or none: each run gets its own) or another --namespace"
                )
            # Exercise time starts once hub and nodes are ready, so no inject waits for them.
            await self._clock(
                ClockAction.START,
                exercise_start=self.start,
                speed=self.speed,
                setup=exercise_setup(self.scenario, self.seed),
            )
            follower = asyncio.create_task(self._follow_audit(audit_from))
            try:
                self._schedule()
                ended_by = await self._wait_for_end()
                self.closing = True
                # Trainees may leave a request unanswered on purpose: no waiting for them.
                if ended_by != "ended" and not self.scenario.trainee_parties:
                    unsettled = await self._settle()
                else:
                    unsettled = self.progress.open
            finally:
                if self.host is not None and not self.host.clock.ended:
                    with contextlib.suppress(Exception):
                        await self._clock(
                            ClockAction.END, reason=self.end_reason, actor=self.end_actor
                        )
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
        finally:
            if self.host is not None:
                await self.host.stop()
            if started_hub:
                self._stop_hub()
        return ExerciseResult(
            run_id=self.run_id,
            namespace=opts.namespace,
            seed=self.seed,
            speed=self.speed,
            started_hub=started_hub,
            ended_by=ended_by,
            exercise_start=self.start,
            exercise_end=self.end,
            records=self.records,
            injects=dict(self.plan.request_of),
            outcomes={i: self.progress.outcome(r) for i, r in self.plan.request_of.items()},
            unsettled=unsettled,
        )

    def end_now(self, reason: str, actor: str) -> None:
        """End the exercise now (exercise control's decision, for `reason`): nothing more
        is sent, and requests still open stay open in the report."""
        self.end_reason = reason
        self.end_actor = actor
        self.ended_by_hand.set()

    async def _clock(self, action: ClockAction, **fields: object) -> None:
        """Publish a clock command for this run and wait until the nodes applied it."""
        assert self.host is not None
        command = ClockCommand.model_validate(
            {
                "exercise_id": self.run_id,
                "action": action,
                "issued_at": datetime.now(UTC),
                **fields,
            }
        )
        offset = await publish_clock(self.clock_access, self.topics, command)
        if not await self.host.clock_feed.wait_for(offset + 1):
            raise ExerciseError(f"the clock's {action.value} was not read back within 10 s")

    # ---- components --------------------------------------------------------------------

    def _answering(self, running_nodes: set[Country]) -> set[Country]:
        """The parties whose inboxes this run's nodes answer."""
        return set(self.scenario.nodes) - running_nodes - self.scenario.trainee_parties

    async def _check_rights(self) -> dict[Country, KafkaAccess] | None:
        """On a secure broker: each party's own access, once the clock's and every
        party's rights are checked (a refusal raises `AccessRefused`); plain: None."""
        if not self.logins.secure:
            return None
        await check_rights(self.clock_access, clock_needs(self.topics))
        access = {party: self.logins.access(party.value) for party in self.scenario.nodes}
        answering = self._answering(set())
        for party, login in access.items():
            needs = node_needs if party in answering else sender_needs
            await check_rights(login, needs(self.topics, party))
        return access

    async def _ensure_hub(self) -> bool:
        group = self.topics.hub_group
        if group in await active_groups(self.clock_access, [group]):
            return False  # a live hub: it takes the exercise's setup from the clock START
        if self.logins.secure and self.logins.file is None:
            raise ExerciseError(
                "no hub runs, and one cannot be started without a credentials file to "
                "give it; start `onestop hub --credentials FILE` first"
            )
        workdir = Path(tempfile.gettempdir()) / "onestop-exercise"
        self._hub = hub_process(
            self.options.bootstrap,
            self.topics,
            workdir,
            parties=sorted(self.scenario.nodes),
            extra=self.logins.arguments(),
        ).start()
        return True

    async def _wait_for_hub(self) -> None:
        """Wait until the hub started for the run has joined its group; raise
        ExerciseError at once when it ends instead (with the last line it printed, such as
        a refusal of the broker)."""
        waiting = asyncio.create_task(wait_until_stable(self.clock_access, self.topics.hub_group))
        try:
            while not waiting.done():
                await asyncio.wait({waiting}, timeout=0.5)
                code = self._hub.exit_code() if self._hub is not None else None
                if code is not None and self._hub is not None:
                    said = self._hub.log_tail(1).removeprefix("error: ").strip()
                    raise ExerciseError(
                        f"the hub started for the exercise ended (exit code {code}): {said}"
                    )
        finally:
            waiting.cancel()
        if not waiting.result():
            raise ExerciseError("the hub did not join its consumer group within 90 s")

    def _stop_hub(self) -> None:
        if self._hub is not None:
            self._hub.stop()

    async def _running_nodes(self) -> set[Country]:
        """Parties answered by live node processes elsewhere: they follow this run's START
        (seed and profiles), so they play the scenario's parties as these nodes would."""
        groups = {f"{self.topics.namespace}-node-{c.value}": c for c in self.scenario.nodes}
        active = await active_groups(self.clock_access, list(groups))
        return {groups[g] for g in active}

    async def _audit_ends(self) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(**client_options(self.clock_access))
        await consumer.start()
        try:
            tps = [TopicPartition(self.topics.audit, p) for p in range(self.topics.partitions)]
            ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
            return ends
        finally:
            await consumer.stop()

    async def _follow_audit(self, start: dict[TopicPartition, int]) -> None:
        consumer = AIOKafkaConsumer(**client_options(self.clock_access))
        await consumer.start()
        try:
            prefix = f"{self.run_id}."
            consumer.assign(list(start))
            for tp, offset in start.items():
                consumer.seek(tp, offset)
            while True:
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for raw in records:
                        record = AuditRecord.model_validate_json(raw.value)
                        if record.request_id and not record.request_id.startswith(prefix):
                            continue  # an earlier run's request in the same namespace
                        control = record.details
                        if isinstance(control, ControlDetails) and (
                            control.exercise_id != self.run_id
                        ):
                            continue  # another run's clock command
                        self.records.append(record)
                        if record.request_id:
                            self.seen_requests.add(record.request_id)
                        self.progress.observe(record)
        finally:
            await consumer.stop()

    # ---- injects ----------------------------------------------------------------------

    def _schedule(self) -> None:
        for send in self.plan.initial():
            self._schedule_send(send)

    def _schedule_send(self, send: Send) -> None:
        assert self.host is not None
        host = self.host

        async def deliver(moment: datetime) -> None:
            if self.closing:
                if send.inject is not None:
                    self.plan.skipped.add(send.inject.id)
                return
            message = self.plan.message(send, moment)
            if message is not None:
                await host.nodes[send.sender].send(message)

        host.scheduler.at(send.at, deliver, f"send {send.request_id}")

    def _on_outcome(self, request_id: str, outcome: Outcome, moment: datetime) -> None:
        for send in self.plan.on_outcome(request_id, outcome, moment):
            self._schedule_send(send)

    # ---- the end -----------------------------------------------------------------------

    async def _wait_for_end(self) -> str:
        assert self.host is not None
        while True:
            self._report()
            if self.ended_by_hand.is_set() or self.host.clock.ended:
                return "ended"  # by hand, here or from another console
            if self.plan.over(self.progress, self.seen_requests):
                return "settled"
            if self.host.clock.now() >= self.end:
                # Everything planned before the end has been handed to the nodes by now:
                # the scheduler runs what is due before the clock is read here again.
                await self.host.scheduler.run_due()
                return "end time"
            await asyncio.sleep(TICK_SECONDS)

    async def _settle(self) -> int:
        """Let the requests already sent settle, within the grace period; return how many
        were still open when it ran out."""
        assert self.host is not None
        limit = max(self.host.clock.now(), self.end) + self.scenario.clock.grace
        while True:
            self._report()
            if self.plan.settled(self.progress, self.seen_requests) or self.host.clock.ended:
                break
            if self.host.clock.now() >= limit:
                break
            await asyncio.sleep(TICK_SECONDS)
        await asyncio.sleep(TICK_SECONDS * 2)  # the audit follower reads the last records
        self._report()
        return self.progress.open

    def _report(self) -> None:
        if self.on_snapshot is None or self.host is None:
            return
        p = self.progress
        self.on_snapshot(
            Snapshot(
                exercise_time=self.host.clock.now(),
                injects_sent=len(self.plan.sent),
                injects_total=len(self.scenario.injects),
                background_sent=self.plan.background_sent,
                open=p.open,
                overdue=p.overdue,
                answered=p.count(Outcome.ANSWERED),
                refused=p.count(Outcome.REFUSED),
                rejected=p.rejected,
                ending=self.closing,
            )
        )

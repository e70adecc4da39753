"""What an exercise sends and when (pure, no I/O): the injects of a scenario, its
background traffic, the injects that wait for another's outcome, and when it is over.

`ExercisePlan` is shared by the exercise runner (which plays it on Kafka), the console
(which adds injects by hand) and tests (which play it on an in-memory exchange). Request
ids are `<run id>.<name in the scenario>`; every random choice is drawn from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from onestop.exercise.progress import ExerciseProgress
from onestop.exercise.scenario import Inject, Scenario
from producers.traffic import PlannedMessage, background_traffic, build_message
from schemas.enums import Country, MessageKind, Outcome
from schemas.messages import ONE_WAY_KINDS, MessageBase


@dataclass(frozen=True)
class Send:
    """One message of the exercise to send at exercise time `at`: an inject or a
    background message."""

    at: datetime
    sender: Country
    request_id: str
    inject: Inject | None = None
    background: PlannedMessage | None = None


@dataclass
class ExercisePlan:
    """The sends of one run of a scenario, and what has become of them."""

    scenario: Scenario
    run_id: str
    seed: int
    sent: set[str] = field(default_factory=set)  # inject ids sent
    skipped: set[str] = field(default_factory=set)  # inject ids that will never be sent
    sent_requests: set[str] = field(default_factory=set)  # every request id sent
    background: list[PlannedMessage] = field(default_factory=list)
    background_sent: int = 0

    def __post_init__(self) -> None:
        self.request_of = {i.id: f"{self.run_id}.{i.id}" for i in self.scenario.injects}
        self.inject_of = {r: i for i, r in self.request_of.items()}
        self.start = self.scenario.clock.start
        self.end = self.start + self.scenario.clock.end

    def initial(self) -> list[Send]:
        """Everything planned from the start: the injects that wait for nothing, and the
        background traffic (Poisson arrivals up to the end, from the seed)."""
        sends = [
            self._inject(inject, self.start + inject.at)
            for inject in self.scenario.injects
            if inject.after is None
        ]
        traffic = self.scenario.background
        if traffic is not None:
            # Between simulated parties only: trainees get the injects aimed at their desk.
            simulated = set(self.scenario.nodes) - self.scenario.trainee_parties
            self.background = background_traffic(
                random.Random(f"{self.seed}/background"),
                sorted(simulated),
                self.start,
                self.end,
                traffic.rate_per_hour,
                traffic.kinds,
                traffic.urgent_share,
                self.run_id,
            )
            sends += [Send(b.at, b.sender, b.request_id, background=b) for b in self.background]
        return sends

    def _inject(self, inject: Inject, at: datetime) -> Send:
        return Send(at, inject.sender, self.request_of[inject.id], inject=inject)

    def message(self, send: Send, moment: datetime) -> MessageBase | None:
        """The message of `send` at exercise time `moment`, or None when it is not to be
        sent (the exercise is past its end). Marks it sent."""
        if moment >= self.end:
            if send.inject is not None:
                self.skipped.add(send.inject.id)
            return None
        if send.background is not None:
            self.background_sent += 1
            self.sent_requests.add(send.request_id)
            return send.background.message(moment)
        assert send.inject is not None
        self.sent.add(send.inject.id)
        self.sent_requests.add(send.request_id)
        return self.inject_message(send.inject, moment)

    def inject_message(self, inject: Inject, moment: datetime) -> MessageBase:
        """The message of `inject`, sent at exercise time `moment`."""
        return inject_message(inject, self.run_id, moment)

    def on_outcome(self, request_id: str, outcome: Outcome, moment: datetime) -> list[Send]:
        """The injects that waited for `request_id` to reach `outcome` at exercise time
        `moment`; those waiting for another outcome it can no longer reach are skipped."""
        trigger = self.inject_of.get(request_id)
        if trigger is None:
            return []
        sends = []
        for inject in self.scenario.injects:
            after = inject.after
            if after is None or after.inject != trigger or inject.id in self.sent:
                continue
            if after.outcome == outcome:
                sends.append(self._inject(inject, moment + inject.at))
            elif outcome is not Outcome.OVERDUE:
                self.skipped.add(inject.id)  # settled otherwise: its trigger cannot come
        return sends

    def decided(self, inject: Inject, progress: ExerciseProgress, seen: set[str]) -> bool:
        """Whether nothing more will happen to `inject`: skipped, a one-way message that
        reached the hub, or a request settled."""
        if inject.id in self.skipped:
            return True
        if inject.id not in self.sent:
            return False
        request_id = self.request_of[inject.id]
        if inject.kind in ONE_WAY_KINDS:
            return request_id in seen
        state = progress.requests.get(request_id)
        return state is not None and state.settled is not None

    def over(self, progress: ExerciseProgress, seen: set[str]) -> bool:
        """Whether the exercise can end before its end time: every inject decided and no
        background traffic left to send."""
        injects = all(self.decided(i, progress, seen) for i in self.scenario.injects)
        return injects and self.background_sent == len(self.background)

    def settled(self, progress: ExerciseProgress, seen: set[str]) -> bool:
        """After the end: everything sent has reached the hub, and no request is open."""
        return progress.open == 0 and self.sent_requests <= seen


def inject_message(inject: Inject, run_id: str, moment: datetime) -> MessageBase:
    """The message of `inject` in the run `run_id`, sent at exercise time `moment`. Its
    request id is `<run id>.<inject id>`; so is a Prüm follow-up's `hit_request_id` when it
    names another inject."""
    fields = dict(inject.payload)
    if inject.kind is MessageKind.REQUEST:
        fields.setdefault("urgency", inject.urgency)
        fields.setdefault("accessibility", inject.accessibility)
        if inject.urgency_reason:
            fields.setdefault("urgency_reason", inject.urgency_reason)
    if inject.kind is MessageKind.PRUM_FOLLOWUP and "hit_request_id" in fields:
        hit = str(fields["hit_request_id"])
        fields["hit_request_id"] = hit if hit.startswith(f"{run_id}.") else f"{run_id}.{hit}"
    return build_message(
        inject.kind,
        request_id=f"{run_id}.{inject.id}",
        case_id=f"{run_id}.{inject.case or inject.id}",
        sender=inject.sender,
        recipient=inject.recipient,
        sent_at=moment,
        subject=inject.subject,
        language=inject.language,
        handling_code=inject.handling_code,
        fields=fields,
    )

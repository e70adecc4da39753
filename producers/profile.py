"""How a simulated SPOC behaves (pure): its behaviour profile, and the plan of answers it
makes for a request it receives. Random choices come from a generator seeded per request,
so the same seed gives the same exercise whatever order messages arrive in."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.enums import Channel, MessageKind, PrumOutcome, RefusalGround

DEFAULT_GROUNDS: Final = {
    RefusalGround.NOT_AVAILABLE: 3.0,
    RefusalGround.NATIONAL_SECURITY: 1.0,
    RefusalGround.MINOR_OFFENCE: 1.0,
}


class AnswerTime(BaseModel):
    """A log-normal answer time in exercise minutes, clipped to [minimum, maximum]."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    median_minutes: float = Field(default=120.0, gt=0)
    sigma: float = Field(default=0.6, ge=0, le=3)
    minimum_minutes: float = Field(default=1.0, ge=0)
    maximum_minutes: float = Field(default=7 * 24 * 60.0, gt=0)

    def draw(self, rng: random.Random) -> float:
        """One answer time, in exercise seconds."""
        minutes = self.median_minutes * (rng.lognormvariate(0.0, self.sigma) if self.sigma else 1)
        return 60.0 * min(max(minutes, self.minimum_minutes), self.maximum_minutes)


class Outage(BaseModel):
    """A channel down for a window of exercise time, in minutes from the start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    start_minutes: float = Field(ge=0)
    end_minutes: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Outage:
        if self.end_minutes <= self.start_minutes:
            raise ValueError("end_minutes must be after start_minutes")
        return self


class NodeProfile(BaseModel):
    """A SPOC's behaviour. Shares are probabilities between 0 and 1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer_time: AnswerTime = AnswerTime()
    urgent_answer_time: AnswerTime = AnswerTime(median_minutes=90.0, sigma=0.5)
    refusal_share: float = Field(default=0.05, ge=0, le=1)
    refusal_grounds: dict[RefusalGround, float] = Field(default_factory=lambda: DEFAULT_GROUNDS)
    clarification_share: float = Field(default=0.05, ge=0, le=1)
    clarification_minutes: float = Field(default=30.0, gt=0, description="Requester's reply")
    judicial_share: float = Field(default=0.03, ge=0, le=1)
    judicial_delay_hours: float = Field(default=48.0, gt=0)
    partial_share: float = Field(default=0.05, ge=0, le=1)
    acknowledge: bool = True
    prum_hit_share: float = Field(default=0.3, ge=0, le=1)
    prum_answer_seconds: float = Field(default=30.0, gt=0)
    outages: list[Outage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _shares(self) -> NodeProfile:
        total = self.refusal_share + self.clarification_share + self.judicial_share
        if total + self.partial_share > 1:
            raise ValueError(
                "refusal, clarification, judicial and partial shares add up to more than 1"
            )
        if not self.refusal_grounds or any(w < 0 for w in self.refusal_grounds.values()):
            raise ValueError("refusal_grounds needs at least one ground with a weight >= 0")
        return self


@dataclass(frozen=True)
class Step:
    """Send a message of `kind` `after` exercise seconds from receipt of the request."""

    after: float
    kind: MessageKind
    grounds: tuple[RefusalGround, ...] = ()
    delay_hours: float = 0.0
    prum_outcome: PrumOutcome | None = None


@dataclass(frozen=True)
class Plan:
    """What a SPOC will do about one request: `steps` timed from receipt, and
    `after_clarification` timed from the requester's clarification reply."""

    steps: tuple[Step, ...]
    after_clarification: tuple[Step, ...] = ()


def request_rng(seed: int, party: str, request_id: str) -> random.Random:
    """A generator for one request at one party, independent of arrival order."""
    digest = hashlib.sha256(f"{seed}/{party}/{request_id}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def plan_answer(kind: MessageKind, urgent: bool, profile: NodeProfile, rng: random.Random) -> Plan:
    """The requested SPOC's plan for a request of `kind` (exercise seconds from receipt)."""
    if kind is MessageKind.PRUM_QUERY:
        outcome = PrumOutcome.HIT if rng.random() < profile.prum_hit_share else PrumOutcome.NO_HIT
        return Plan(
            (Step(profile.prum_answer_seconds, MessageKind.PRUM_RESULT, prum_outcome=outcome),)
        )
    timing = profile.urgent_answer_time if urgent else profile.answer_time
    answer_after = timing.draw(rng)
    first: list[Step] = []
    if profile.acknowledge:
        first.append(Step(0.0, MessageKind.ACKNOWLEDGEMENT))
    roll = rng.random()
    edge = profile.refusal_share
    if roll < edge:
        grounds, weights = zip(*profile.refusal_grounds.items(), strict=True)
        ground = rng.choices(grounds, weights=weights)[0]
        return Plan((*first, Step(answer_after, MessageKind.REFUSAL, grounds=(ground,))))
    edge += profile.clarification_share
    if roll < edge:
        question = Step(min(answer_after / 4, 3600.0), MessageKind.CLARIFICATION_REQUEST)
        return Plan((*first, question), (Step(answer_after - question.after, MessageKind.REPLY),))
    edge += profile.judicial_share
    if roll < edge:
        notice = Step(
            min(answer_after / 4, 3600.0),
            MessageKind.DELAY_NOTICE,
            delay_hours=profile.judicial_delay_hours,
        )
        return Plan(
            (
                *first,
                notice,
                Step(answer_after + profile.judicial_delay_hours * 3600, MessageKind.REPLY),
            )
        )
    edge += profile.partial_share
    if roll < edge:
        return Plan(
            (
                *first,
                Step(answer_after / 2, MessageKind.PARTIAL_REPLY),
                Step(answer_after, MessageKind.REPLY),
            )
        )
    return Plan((*first, Step(answer_after, MessageKind.REPLY)))

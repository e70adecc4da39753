"""How a simulated SPOC decides (pure): the plan of answers it makes for a request it
receives, from its behaviour profile (`schemas.profiles`). Random choices come from a
generator seeded by the exercise's seed, the party and the request's name in the scenario,
so the same seed gives the same exercise whatever order messages arrive in and whatever
the run is called."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from schemas.enums import MessageKind, PrumOutcome, RefusalGround
from schemas.profiles import AnswerTime, NodeProfile


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


def draw_answer_time(timing: AnswerTime, rng: random.Random) -> float:
    """One answer time drawn from `timing`, in exercise seconds."""
    sigma = timing.sigma
    minutes = timing.median_minutes * (rng.lognormvariate(0.0, sigma) if sigma else 1)
    return 60.0 * min(max(minutes, timing.minimum_minutes), timing.maximum_minutes)


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
    answer_after = draw_answer_time(timing, rng)
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

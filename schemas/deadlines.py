"""Time limits (pure): which limit a request gets, and on what basis.

The law follows the parties, not the channel. Between two parties bound by the active rule
set (the Member States and the Schengen associated states, `schemas.countries.bound_by`),
its matrix applies whatever channel carries the request, a fallback under Art. 13(c)
included: Directive (EU) 2023/977 Art. 5(1) gives 8 hours for urgent requests on directly
accessible information, 3 calendar days for urgent ones on indirectly accessible
information, 7 days otherwise; the Framework Decision 2006/960 (legacy) gives 8 hours,
14 days, 7 days and 14 days. SIRENE forms have 12 hours (Reg. 2018/1862 Art. 8(3)), Prüm
step 1 15 minutes and step 2 48 hours (model choices), whoever the parties.

With Europol, Interpol, a third country or another organisation the Directive does not
apply: the scenario's limit for that counterpart, else its limit for the channel the
routing rule chose (not a fallback), else no limit at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from schemas.countries import bound_by
from schemas.enums import Accessibility, Channel, Country, MessageKind, RuleSetName, Urgency

HOUR: Final = 3600.0
DAY: Final = 24 * HOUR


class RuleSet(BaseModel):
    """A set of time limits, in seconds of exercise time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: RuleSetName
    urgent_direct: float = Field(gt=0)
    urgent_indirect: float = Field(gt=0)
    non_urgent_direct: float = Field(gt=0)
    non_urgent_indirect: float = Field(gt=0)
    sirene: float = Field(default=12 * HOUR, gt=0)
    prum_step1: float = Field(default=15 * 60, gt=0)
    prum_step2: float = Field(default=48 * HOUR, gt=0)
    channel_limits: dict[Channel, float] = Field(
        default_factory=dict,
        description="Limits of exchanges outside the rule set, by the channel chosen",
    )
    counterpart_limits: dict[Country, float] = Field(
        default_factory=dict,
        description="Limits of exchanges outside the rule set, by the party not bound by it",
    )


DIRECTIVE_2023_977: Final = RuleSet(
    name=RuleSetName.DIRECTIVE_2023_977,
    urgent_direct=8 * HOUR,
    urgent_indirect=3 * DAY,
    non_urgent_direct=7 * DAY,
    non_urgent_indirect=7 * DAY,
)

FRAMEWORK_DECISION_2006_960: Final = RuleSet(
    name=RuleSetName.FRAMEWORK_DECISION_2006_960,
    urgent_direct=8 * HOUR,
    urgent_indirect=14 * DAY,
    non_urgent_direct=7 * DAY,
    non_urgent_indirect=14 * DAY,
)

RULE_SETS: Final = {rs.name: rs for rs in (DIRECTIVE_2023_977, FRAMEWORK_DECISION_2006_960)}


class LimitBasis(StrEnum):
    """Where a request's time limit comes from."""

    DIRECTIVE_2023_977 = "directive_2023_977"  # Art. 5(1), between bound parties
    FRAMEWORK_DECISION_2006_960 = "framework_decision_2006_960"  # Art. 4, legacy
    SIRENE = "sirene"  # Reg. 2018/1862 Art. 8(3)
    PRUM_STEP1 = "prum_step1"
    PRUM_STEP2 = "prum_step2"
    COUNTERPART = "counterpart"  # the scenario's limit for a party outside the rule set
    CHANNEL = "channel"  # the scenario's limit for the channel of such an exchange
    NONE = "none"  # outside the rule set and nothing configured: no limit


@dataclass(frozen=True)
class TimeLimit:
    """A request's time limit in exercise seconds (None: no limit), its basis, and a
    sentence saying why, for the audit trail and the report."""

    seconds: float | None
    basis: LimitBasis
    why: str


def _hours(seconds: float) -> str:
    hours = seconds / HOUR
    return f"{hours / 24:g} days" if hours >= 24 and hours % 24 == 0 else f"{hours:g} h"


def _matrix(rules: RuleSet, urgency: Urgency, accessibility: Accessibility) -> TimeLimit:
    urgent = urgency is Urgency.URGENT
    direct = accessibility is Accessibility.DIRECT
    seconds = {
        (True, True): rules.urgent_direct,
        (True, False): rules.urgent_indirect,
        (False, True): rules.non_urgent_direct,
        (False, False): rules.non_urgent_indirect,
    }[(urgent, direct)]
    if rules.name is RuleSetName.DIRECTIVE_2023_977:
        basis, law = LimitBasis.DIRECTIVE_2023_977, "Directive (EU) 2023/977 Art. 5(1)"
    else:
        basis, law = LimitBasis.FRAMEWORK_DECISION_2006_960, "Framework Decision 2006/960 Art. 4"
    what = f"{urgency.value.replace('_', '-')}, {accessibility.value}ly accessible"
    return TimeLimit(seconds, basis, f"{law}: {what}: {_hours(seconds)}")


def time_limit(
    kind: MessageKind,
    channel: Channel,
    urgency: Urgency,
    accessibility: Accessibility,
    rules: RuleSet,
    requester: Country,
    requested: Country,
) -> TimeLimit:
    """The time limit of a request of `kind` from `requester` to `requested`, counted
    from receipt at the hub in exercise time. `channel` is the one the routing rule chose
    (before any fallback): it matters only for exchanges outside the rule set."""
    if kind is MessageKind.SIRENE_FORM:
        why = f"SIRENE supplementary information after a hit: {_hours(rules.sirene)}"
        return TimeLimit(rules.sirene, LimitBasis.SIRENE, why)
    if kind is MessageKind.PRUM_QUERY:
        why = f"Prüm step 1, automated hit / no-hit: {_hours(rules.prum_step1)}"
        return TimeLimit(rules.prum_step1, LimitBasis.PRUM_STEP1, why)
    if kind is MessageKind.PRUM_FOLLOWUP:
        why = f"Prüm step 2, data after a confirmed hit: {_hours(rules.prum_step2)}"
        return TimeLimit(rules.prum_step2, LimitBasis.PRUM_STEP2, why)
    if bound_by(requester, rules.name) and bound_by(requested, rules.name):
        return _matrix(rules, urgency, accessibility)
    outside = requested if not bound_by(requested, rules.name) else requester
    if outside in rules.counterpart_limits:
        seconds = rules.counterpart_limits[outside]
        why = f"exchange with {outside.value}, outside the rule set: {_hours(seconds)} (scenario)"
        return TimeLimit(seconds, LimitBasis.COUNTERPART, why)
    if channel in rules.channel_limits:
        seconds = rules.channel_limits[channel]
        why = (
            f"exchange with {outside.value} over {channel.value}, outside the rule set: "
            f"{_hours(seconds)} (scenario)"
        )
        return TimeLimit(seconds, LimitBasis.CHANNEL, why)
    why = f"exchange with {outside.value}, outside the rule set: no limit configured"
    return TimeLimit(None, LimitBasis.NONE, why)

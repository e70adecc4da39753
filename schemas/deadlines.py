"""Time limits: which limit a request gets under the active rule set.

Directive (EU) 2023/977 Art. 5(1): 8 hours for urgent requests on directly accessible
information, 3 calendar days for urgent ones on indirectly accessible information, 7 days
otherwise. Framework Decision 2006/960 (legacy): 8 hours, 7 days, 14 days. SIRENE: 12 hours
(Reg. 2018/1862 Art. 8(3)). Prüm step 2: 48 hours (model choice). Interpol, liaison officers
and PCCCs have no limit in law: configurable, defaulting to the rule set's matrix.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from schemas.enums import Accessibility, Channel, MessageKind, RuleSetName, Urgency

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
        description="Limits for channels without one in law (Interpol, liaison, PCCC)",
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


def time_limit(
    kind: MessageKind,
    channel: Channel,
    urgency: Urgency,
    accessibility: Accessibility,
    rules: RuleSet,
) -> timedelta:
    """The time limit of a request opened by a message of `kind` sent over `channel`,
    counted from receipt at the hub, in exercise time."""
    if kind is MessageKind.SIRENE_FORM:
        return timedelta(seconds=rules.sirene)
    if kind is MessageKind.PRUM_QUERY:
        return timedelta(seconds=rules.prum_step1)
    if kind is MessageKind.PRUM_FOLLOWUP:
        return timedelta(seconds=rules.prum_step2)
    if channel in rules.channel_limits:
        return timedelta(seconds=rules.channel_limits[channel])
    urgent = urgency is Urgency.URGENT
    direct = accessibility is Accessibility.DIRECT
    seconds = {
        (True, True): rules.urgent_direct,
        (True, False): rules.urgent_indirect,
        (False, True): rules.non_urgent_direct,
        (False, False): rules.non_urgent_indirect,
    }[(urgent, direct)]
    return timedelta(seconds=seconds)

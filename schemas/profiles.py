"""How a simulated SPOC behaves, as a scenario describes it: answer times, shares of
refusals, clarifications, judicial delays and partial replies, and channel outages.

Part of the contract because an exercise's clock START carries the profiles of its parties:
every node process, wherever it runs, then plays the scenario's parties the same way.
Shares are probabilities between 0 and 1; times are exercise minutes unless named hours.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.enums import Channel, RefusalGround

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

"""Observations: what the exercise control team notes while an exercise runs, stamped with
the exercise and wall time it was seen, optionally tied to a request or a party. They live
on their own topic (`Topics.observations`), so a console restart loses none, and the
after-action report puts them on the exercise's timeline."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.enums import Country

ObservationText = Field(min_length=1, max_length=2000)


class Observation(BaseModel):
    """One note of the exercise control team (or an observer)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    observation_id: str = Field(min_length=1, max_length=80)
    exercise_id: str | None = Field(default=None, max_length=80)
    author: str = Field(min_length=1, max_length=40, description="The role that wrote it")
    wall_time: AwareDatetime
    exercise_time: AwareDatetime
    text: str = ObservationText
    request_id: str | None = Field(default=None, max_length=80)
    party: Country | None = None
    finding: str | None = Field(
        default=None,
        max_length=40,
        description="A stable code when the console noted it itself (e.g. missing_urgency_reason)",
    )

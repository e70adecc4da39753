"""Scenario files (`exercises/*.yaml`): the exercise, its clock, its nodes and their
profiles, timed injects and background traffic. Loaded with pydantic; a mistake is reported
with the file, the line and the field, and what was expected."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from schemas.deadlines import RULE_SETS, RuleSet
from schemas.enums import (
    Accessibility,
    Channel,
    Country,
    HandlingCode,
    MessageKind,
    Outcome,
    RuleSetName,
    Urgency,
)
from schemas.messages import ONE_WAY_KINDS, OPENING_KINDS
from schemas.profiles import NodeProfile

_OFFSET = re.compile(r"^(?:(?P<d>\d+)d)?\s*(?:(?P<h>\d+):(?P<m>[0-5]\d)(?::(?P<s>[0-5]\d))?)?$")


def parse_offset(value: Any) -> timedelta:
    """An exercise-time offset: `HH:MM`, `HH:MM:SS`, `2d`, `2d 04:00`, or minutes."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(minutes=float(value))
    match = _OFFSET.match(value.strip()) if isinstance(value, str) and value.strip() else None
    if not match:
        raise ValueError(
            f"expected an offset like '00:20', '1d 02:00' or a number of minutes, got {value!r}"
        )
    return timedelta(
        days=int(match["d"] or 0),
        hours=int(match["h"] or 0),
        minutes=int(match["m"] or 0),
        seconds=int(match["s"] or 0),
    )


Offset = Annotated[timedelta, BeforeValidator(parse_offset)]
SENDABLE_KINDS = frozenset(OPENING_KINDS | ONE_WAY_KINDS)


class ClockSpec(BaseModel):
    """The exercise clock: where exercise time starts and how fast it runs."""

    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    speed: float = Field(default=60.0, gt=0, le=1_000_000, description="Exercise s per wall s")
    end: Offset = Field(description="Exercise end, as an offset from the start")
    grace: Offset = Field(
        default=timedelta(days=14),
        description="After the end, how long (exercise time) the requests already sent may "
        "still take to be answered before the clock stops; nothing new is sent meanwhile",
    )


class NodeSpec(BaseModel):
    """One party of the exercise: simulated with a behaviour profile, or played by a
    trainee at a desk in the console."""

    model_config = ConfigDict(extra="forbid")

    played_by: Literal["simulated", "trainee"] = Field(
        default="simulated", description="'trainee': a person answers at the party's desk"
    )
    profile: NodeProfile = NodeProfile()


class Trigger(BaseModel):
    """Send an inject only once another inject reached an outcome."""

    model_config = ConfigDict(extra="forbid")

    inject: str
    outcome: Literal[Outcome.ANSWERED, Outcome.REFUSED, Outcome.OVERDUE]


class Inject(BaseModel):
    """A timed message of the exercise."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$", max_length=40)
    at: Offset = Field(description="When, from the exercise start (or from the trigger)")
    sender: Country = Field(alias="from")
    recipient: Country = Field(alias="to")
    kind: MessageKind = MessageKind.REQUEST
    urgency: Urgency = Urgency.NON_URGENT
    urgency_reason: str | None = None
    accessibility: Accessibility = Accessibility.DIRECT
    subject: str = Field(default="", max_length=300)
    handling_code: HandlingCode = HandlingCode.H0
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    case: str | None = Field(default=None, description="Case id; default: the inject id")
    payload: dict[str, Any] = Field(
        default_factory=dict, description="Kind-specific fields (form, colour, category, ...)"
    )
    after: Trigger | None = None

    @model_validator(mode="after")
    def _check(self) -> Inject:
        if self.kind not in SENDABLE_KINDS:
            raise ValueError(
                f"kind {self.kind.value!r} cannot be injected; use one of "
                f"{', '.join(sorted(k.value for k in SENDABLE_KINDS))}"
            )
        if self.sender is self.recipient:
            raise ValueError("from and to are the same party")
        if self.urgency is Urgency.URGENT and not self.urgency_reason:
            raise ValueError("an urgent request needs urgency_reason (Art. 4)")
        return self


class Background(BaseModel):
    """Random traffic between the nodes, besides the injects."""

    model_config = ConfigDict(extra="forbid")

    rate_per_hour: float = Field(ge=0, le=10_000, description="Requests per exercise hour")
    urgent_share: float = Field(default=0.2, ge=0, le=1)
    kinds: dict[MessageKind, float] = Field(default_factory=lambda: {MessageKind.REQUEST: 1.0})

    @model_validator(mode="after")
    def _check(self) -> Background:
        wrong = [k.value for k in self.kinds if k not in SENDABLE_KINDS]
        if wrong:
            raise ValueError(f"background kinds cannot include {', '.join(wrong)}")
        return self


class Scenario(BaseModel):
    """A whole exercise."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    rules: RuleSetName = RuleSetName.DIRECTIVE_2023_977
    channel_limits_hours: dict[Channel, float] = Field(
        default_factory=dict,
        description="Time limits (hours) of exchanges the rule set does not govern (with "
        "Europol, Interpol or a third country), by channel",
    )
    counterpart_limits_hours: dict[Country, float] = Field(
        default_factory=dict,
        description="Time limits (hours) of exchanges with a party the rule set does not "
        "bind (EUROPOL, INTERPOL, a third country); before channel_limits_hours",
    )
    clock: ClockSpec
    seed: int = 0
    nodes: dict[Country, NodeSpec]
    pcccs: list[tuple[Country, Country]] = Field(default_factory=list)
    liaison_officers: list[tuple[Country, Country]] = Field(default_factory=list)
    injects: list[Inject] = Field(default_factory=list)
    background: Background | None = None

    @model_validator(mode="after")
    def _check(self) -> Scenario:
        ids = [i.id for i in self.injects]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"inject ids must be unique; repeated: {', '.join(duplicates)}")
        trainees = self.trainee_parties
        for inject in self.injects:
            for party in (inject.sender, inject.recipient):
                if party not in self.nodes:
                    raise ValueError(f"inject {inject.id}: {party.value} is not among the nodes")
            if inject.sender in trainees:
                raise ValueError(
                    f"inject {inject.id}: {inject.sender.value} is played by a trainee; what "
                    "it sends comes from its desk"
                )
            if inject.after and inject.after.inject not in ids:
                raise ValueError(
                    f"inject {inject.id}: 'after' names unknown inject {inject.after.inject!r}"
                )
        return self

    @property
    def trainee_parties(self) -> frozenset[Country]:
        """The parties played by trainees."""
        return frozenset(c for c, spec in self.nodes.items() if spec.played_by == "trainee")

    @property
    def rule_set(self) -> RuleSet:
        """The rule set with the scenario's own channel limits."""
        base = RULE_SETS[self.rules]
        channels = {c: h * 3600 for c, h in self.channel_limits_hours.items()}
        parties = {p: h * 3600 for p, h in self.counterpart_limits_hours.items()}
        return base.model_copy(
            update={
                "channel_limits": {**base.channel_limits, **channels},
                "counterpart_limits": {**base.counterpart_limits, **parties},
            }
        )


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names file, line and field."""


def load_scenario(path: Path) -> Scenario:
    """Read and check a scenario file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}:1: not UTF-8 text") from exc
    return parse_scenario(text, str(path))


def parse_scenario(text: str, path: str) -> Scenario:
    """Check a scenario given as YAML `text`; errors name `path`, the line and the field."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ScenarioError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}:1: a scenario is a mapping with name, clock, nodes, ...")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            field = ".".join(str(p) for p in loc) or "(top level)"
            line = _line_of(root, loc)
            expected = error["msg"].removeprefix("Value error, ")
            lines.append(f"{path}:{line}: {field}: {expected}")
        raise ScenarioError("\n".join(lines)) from exc


def _line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int:
    """The 1-based line of the YAML node at pydantic location `loc` (as deep as it goes)."""
    line = node.start_mark.line + 1 if node is not None else 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            key = next((k for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return line
            line = (key or match).start_mark.line + 1
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files, for editors."""
    schema = Scenario.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:onestop:schema:scenario:v1"
    return schema

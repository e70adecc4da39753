"""What a load run is asked to do: the offered rate, the mix of kinds, the nodes, and the
parsing of the command line's rate and mix."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from schemas.countries import EU_MEMBERS
from schemas.enums import Country

Rate = float | Literal["max"]


class LoadKind(StrEnum):
    """What a load message is."""

    REQUEST = "request"  # a non-urgent request for information (opens a request)
    SPONTANEOUS_INFORMATION = "spontaneous_information"  # one-way
    BAD = "bad"  # a request with an invalid language code: the hub must dead-letter it


DEFAULT_MIX: Final[Mapping[LoadKind, float]] = {LoadKind.REQUEST: 1.0}


class LoadError(RuntimeError):
    """The load could not be run: wrong settings, or the hub never answered."""


@dataclass(frozen=True)
class LoadSettings:
    """How to load the hub. `rate` in messages per second (or "max"), times in seconds.

    With `rate="max"` each search step lasts `step_seconds` and `duration` is not used."""

    rate: Rate = 100.0
    duration: float = 30.0
    nodes: int = 4
    mix: Mapping[LoadKind, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    poisson: bool = False
    seed: int = 0
    tick_seconds: float = 10.0
    drain_seconds: float = 30.0  # after the last send, at most this long for outcomes
    step_seconds: float = 5.0
    start_rate: float = 250.0  # first step of the max-rate search

    def __post_init__(self) -> None:
        if self.rate != "max" and not (isinstance(self.rate, float | int) and self.rate > 0):
            raise LoadError(f"rate {self.rate!r}: give messages per second > 0, or 'max'")
        if not 2 <= self.nodes <= len(EU_MEMBERS):
            raise LoadError(f"nodes {self.nodes}: give 2 to {len(EU_MEMBERS)} nodes")
        if self.duration <= 0 or self.step_seconds <= 0:
            raise LoadError("duration and step seconds must be > 0")
        if not self.mix or any(share < 0 for share in self.mix.values()):
            raise LoadError(f"mix {dict(self.mix)}: shares must be >= 0, at least one kind")
        if sum(self.mix.values()) <= 0:
            raise LoadError(f"mix {dict(self.mix)}: at least one share must be > 0")

    def as_json(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        data = asdict(self)
        data["mix"] = {str(kind): share for kind, share in self.mix.items()}
        return data


def parse_rate(text: str) -> Rate:
    """`"max"` or a positive number of messages per second."""
    if text.strip().lower() == "max":
        return "max"
    try:
        rate = float(text)
    except ValueError:
        raise LoadError(f"rate {text!r} is neither a number of messages/s nor 'max'") from None
    if not rate > 0 or math.isinf(rate):
        raise LoadError(f"rate {text!r} must be a finite number > 0")
    return rate


def parse_mix(text: str) -> dict[LoadKind, float]:
    """`"request=0.8,spontaneous_information=0.2"` as shares by kind (normalised later)."""
    mix: dict[LoadKind, float] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, share = part.partition("=")
        try:
            kind = LoadKind(name.strip())
        except ValueError:
            known = ", ".join(k.value for k in LoadKind)
            raise LoadError(f"mix {text!r}: unknown kind {name.strip()!r} (use {known})") from None
        try:
            mix[kind] = float(share) if share.strip() else 1.0
        except ValueError:
            raise LoadError(f"mix {text!r}: share {share!r} of {kind} is not a number") from None
    if not mix:
        raise LoadError(f"mix {text!r} names no kind")
    return mix


def load_nodes(count: int) -> list[Country]:
    """The first `count` EU member states, in `Country` order."""
    return [c for c in Country if c in EU_MEMBERS][:count]

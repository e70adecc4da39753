"""Channel choice (Directive 2023/977 Art. 13) as a table of rules, read top to bottom.

SIENA is the default. Interpol I-24/7 where a third country or Interpol is involved (13(a));
SIRENE for SIS-hit follow-ups; Prüm for automated DNA, fingerprint and vehicle searches; a
PCCC or a liaison officer where the scenario configures one for the pair. When the chosen
channel is declared down, the fallback table gives the next one and the reason is recorded
(13(c): a technical or operational incident).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from schemas.clock import ExerciseSetup
from schemas.countries import is_third_party
from schemas.enums import Channel, Country, MessageKind
from schemas.messages import MessageBase, kind_of

Pair = frozenset[Country]


@dataclass(frozen=True)
class RoutingConfig:
    """What a scenario configures: PCCCs and liaison officers by pair of parties, and the
    channels currently down."""

    pcccs: frozenset[Pair] = frozenset()
    liaison_officers: frozenset[Pair] = frozenset()
    down: frozenset[Channel] = frozenset()


@dataclass(frozen=True)
class RouteDecision:
    """Where a message goes and why."""

    channel: Channel
    recipient: Country
    reason: str
    fallback_from: Channel | None = None


@dataclass(frozen=True)
class Leg:
    """What a channel is chosen by: the kind of message, who sends it and to whom."""

    kind: MessageKind
    sender: Country
    recipient: Country


@dataclass(frozen=True)
class RoutingRule:
    """One row of the routing table."""

    name: str
    applies: Callable[[Leg, RoutingConfig], bool] = field(repr=False)
    channel: Channel
    reason: str


def _pair(leg: Leg) -> Pair:
    return frozenset({leg.sender, leg.recipient})


def _involves_third_party(leg: Leg) -> bool:
    return is_third_party(leg.sender) or is_third_party(leg.recipient)


ROUTING_TABLE: Final[tuple[RoutingRule, ...]] = (
    RoutingRule(
        "sis-hit follow-up",
        lambda leg, c: leg.kind is MessageKind.SIRENE_FORM,
        Channel.SIRENE,
        "SIS hit follow-up through the SIRENE bureaux (Reg. 2018/1862)",
    ),
    RoutingRule(
        "prum automated search",
        lambda leg, c: leg.kind in (MessageKind.PRUM_QUERY, MessageKind.PRUM_FOLLOWUP),
        Channel.PRUM,
        "automated DNA / fingerprint / vehicle search (Prüm)",
    ),
    RoutingRule(
        "interpol notice or diffusion",
        lambda leg, c: leg.kind in (MessageKind.INTERPOL_NOTICE, MessageKind.INTERPOL_DIFFUSION),
        Channel.INTERPOL_I247,
        "Interpol notices and diffusions travel on I-24/7",
    ),
    RoutingRule(
        "liaison officer posted",
        lambda leg, c: _pair(leg) in c.liaison_officers,
        Channel.LIAISON_OFFICER,
        "a liaison officer is posted for this pair (scenario)",
    ),
    RoutingRule(
        "third country or Interpol",
        lambda leg, c: _involves_third_party(leg),
        Channel.INTERPOL_I247,
        "a third country or an international organisation is involved (Art. 13(a))",
    ),
    RoutingRule(
        "neighbours with a PCCC",
        lambda leg, c: _pair(leg) in c.pcccs,
        Channel.PCCC,
        "neighbouring countries with a Police and Customs Cooperation Centre (scenario)",
    ),
    RoutingRule(
        "default",
        lambda leg, c: True,
        Channel.SIENA,
        "SIENA by default (Art. 13)",
    ),
)

# When a channel is down, the next one that is up, in order.
FALLBACKS: Final[dict[Channel, tuple[Channel, ...]]] = {
    Channel.SIENA: (Channel.INTERPOL_I247, Channel.LIAISON_OFFICER),
    Channel.INTERPOL_I247: (Channel.LIAISON_OFFICER, Channel.SIENA),
    Channel.SIRENE: (Channel.SIENA, Channel.INTERPOL_I247),
    Channel.PRUM: (Channel.SIENA, Channel.INTERPOL_I247),
    Channel.PCCC: (Channel.SIENA, Channel.INTERPOL_I247),
    Channel.LIAISON_OFFICER: (Channel.SIENA, Channel.INTERPOL_I247),
}


class NoChannelError(Exception):
    """Every channel that could carry the message is down."""


def route(message: MessageBase, config: RoutingConfig) -> RouteDecision:
    """The channel and recipient of an opening or one-way message."""
    return route_leg(Leg(kind_of(message), message.sender, message.recipient), config)


@functools.lru_cache(maxsize=4096)
def route_leg(leg: Leg, config: RoutingConfig) -> RouteDecision:
    """`route` for what the choice depends on; the same leg under the same configuration
    is decided once (a hub sees a few hundred legs, and millions of messages)."""
    rule = next(r for r in ROUTING_TABLE if r.applies(leg, config))
    if rule.channel not in config.down:
        return RouteDecision(rule.channel, leg.recipient, rule.reason)
    for fallback in FALLBACKS[rule.channel]:
        unposted = fallback is Channel.LIAISON_OFFICER and _pair(leg) not in config.liaison_officers
        if fallback not in config.down and not unposted:
            return RouteDecision(
                fallback,
                leg.recipient,
                f"{rule.channel.value} is down: fallback under Art. 13(c) "
                f"(technical or operational incident); {rule.reason}",
                fallback_from=rule.channel,
            )
    raise NoChannelError(
        f"{rule.channel.value} and its fallbacks "
        f"({', '.join(c.value for c in FALLBACKS[rule.channel])}) are all down"
    )


def routing_for(
    setup: ExerciseSetup | None, moment: datetime, base: RoutingConfig
) -> RoutingConfig:
    """The routing configuration in force at exercise time `moment`: the running
    exercise's PCCCs, liaison officers and outages, added to the worker's own `base`."""
    if setup is None:
        return base
    return RoutingConfig(
        pcccs=base.pcccs | {frozenset(pair) for pair in setup.pcccs},
        liaison_officers=base.liaison_officers | {frozenset(p) for p in setup.liaison_officers},
        down=base.down | setup.down_at(moment),
    )

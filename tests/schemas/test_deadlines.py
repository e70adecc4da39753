"""Time limits follow the parties, not the channel: between parties bound by the rule set
its matrix applies on every channel, fallbacks included; with Europol, Interpol and third
countries the scenario's limits apply, or none. SIRENE and Prüm keep their own clocks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.deadlines import (
    DIRECTIVE_2023_977,
    FRAMEWORK_DECISION_2006_960,
    HOUR,
    RULE_SETS,
    LimitBasis,
    RuleSet,
    TimeLimit,
    time_limit,
)
from schemas.enums import Accessibility, Channel, Country, MessageKind, RuleSetName, Urgency

URGENT, NON_URGENT = Urgency.URGENT, Urgency.NON_URGENT
DIRECT, INDIRECT = Accessibility.DIRECT, Accessibility.INDIRECT
DIRECTIVE, LEGACY = DIRECTIVE_2023_977, FRAMEWORK_DECISION_2006_960
MINUTES, HOURS, DAYS = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)
PL, DE, NO, CH = Country.PL, Country.DE, Country.NO, Country.CH
EUROPOL, INTERPOL, CO, US = Country.EUROPOL, Country.INTERPOL, Country.CO, Country.US
CONFIGURED = DIRECTIVE.model_copy(
    update={
        "channel_limits": {Channel.INTERPOL_I247: 72 * HOUR, Channel.SIENA: 96 * HOUR},
        "counterpart_limits": {EUROPOL: 48 * HOUR},
    }
)


def limit_of(
    rules: RuleSet,
    requester: Country = PL,
    requested: Country = DE,
    *,
    kind: MessageKind = MessageKind.REQUEST,
    channel: Channel = Channel.SIENA,
    urgency: Urgency = URGENT,
    accessibility: Accessibility = DIRECT,
) -> TimeLimit:
    return time_limit(kind, channel, urgency, accessibility, rules, requester, requested)


def seconds(delta: timedelta) -> float:
    return delta.total_seconds()


@pytest.mark.parametrize(
    ("rules", "urgency", "accessibility", "expected"),
    [
        pytest.param(DIRECTIVE, URGENT, DIRECT, 8 * HOURS, id="2023/977-urgent-direct-8h"),
        pytest.param(DIRECTIVE, URGENT, INDIRECT, 3 * DAYS, id="2023/977-urgent-indirect-3d"),
        pytest.param(DIRECTIVE, NON_URGENT, DIRECT, 7 * DAYS, id="2023/977-other-direct-7d"),
        pytest.param(DIRECTIVE, NON_URGENT, INDIRECT, 7 * DAYS, id="2023/977-other-indirect-7d"),
        pytest.param(LEGACY, URGENT, DIRECT, 8 * HOURS, id="2006/960-urgent-direct-8h"),
        pytest.param(LEGACY, URGENT, INDIRECT, 14 * DAYS, id="2006/960-urgent-indirect-14d"),
        pytest.param(LEGACY, NON_URGENT, DIRECT, 7 * DAYS, id="2006/960-non-urgent-direct-7d"),
        pytest.param(LEGACY, NON_URGENT, INDIRECT, 14 * DAYS, id="2006/960-other-14d"),
    ],
)  # fmt: skip
def test_request_between_member_states_under_each_rule_set(
    rules: RuleSet, urgency: Urgency, accessibility: Accessibility, expected: timedelta
) -> None:
    limit = limit_of(rules, urgency=urgency, accessibility=accessibility)
    assert limit.seconds == seconds(expected)
    assert limit.basis.value == rules.name.value


@pytest.mark.parametrize("channel", list(Channel), ids=lambda c: c.value)
def test_member_states_keep_the_directive_limit_on_every_channel(channel: Channel) -> None:
    # A fallback under Art. 13(c) (SIENA down, Interpol I-24/7 used) or a PCCC changes the
    # channel, never the legal limit: configured channel limits do not apply between them.
    limit = limit_of(CONFIGURED, channel=channel)
    assert limit == limit_of(DIRECTIVE)
    assert limit.seconds == seconds(8 * HOURS)
    assert limit.basis is LimitBasis.DIRECTIVE_2023_977
    assert "Art. 5(1)" in limit.why


@pytest.mark.parametrize("associated", [NO, CH, Country.IS, Country.LI], ids=lambda c: c.value)
@pytest.mark.parametrize("rules", [DIRECTIVE, LEGACY], ids=lambda r: r.name.value)
def test_schengen_associated_states_are_bound(associated: Country, rules: RuleSet) -> None:
    there = limit_of(rules, PL, associated, urgency=NON_URGENT)
    back = limit_of(rules, associated, PL, urgency=NON_URGENT)
    assert there == back
    assert there.basis.value == rules.name.value


class TestOutsideTheRuleSet:
    def test_europol_with_a_counterpart_limit(self) -> None:
        limit = limit_of(CONFIGURED, PL, EUROPOL)
        assert limit.seconds == 48 * HOUR
        assert limit.basis is LimitBasis.COUNTERPART
        assert "EUROPOL" in limit.why

    def test_europol_as_requester_is_the_counterpart_too(self) -> None:
        assert limit_of(CONFIGURED, EUROPOL, PL).seconds == 48 * HOUR

    def test_third_country_takes_the_channel_limit_of_the_routed_channel(self) -> None:
        limit = limit_of(CONFIGURED, DE, CO, channel=Channel.INTERPOL_I247)
        assert limit.seconds == 72 * HOUR
        assert limit.basis is LimitBasis.CHANNEL

    def test_interpol_without_anything_configured_has_no_limit(self) -> None:
        limit = limit_of(DIRECTIVE, PL, INTERPOL, channel=Channel.INTERPOL_I247)
        assert limit.seconds is None
        assert limit.basis is LimitBasis.NONE
        assert "no limit" in limit.why

    @pytest.mark.parametrize("rules", [DIRECTIVE, LEGACY], ids=lambda r: r.name.value)
    def test_the_matrix_never_applies_to_a_third_country(self, rules: RuleSet) -> None:
        assert limit_of(rules, US, PL).basis is LimitBasis.NONE


@pytest.mark.parametrize(
    ("kind", "channel", "expected", "basis"),
    [
        pytest.param(MessageKind.SIRENE_FORM, Channel.SIRENE, 12 * HOURS, LimitBasis.SIRENE,
                     id="sirene-12h"),
        pytest.param(MessageKind.SIRENE_FORM, Channel.SIENA, 12 * HOURS, LimitBasis.SIRENE,
                     id="sirene-rerouted-over-siena-12h"),
        pytest.param(MessageKind.PRUM_QUERY, Channel.PRUM, 15 * MINUTES, LimitBasis.PRUM_STEP1,
                     id="prum-1-15min"),
        pytest.param(MessageKind.PRUM_FOLLOWUP, Channel.PRUM, 48 * HOURS, LimitBasis.PRUM_STEP2,
                     id="prum-2-48h"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("rules", [DIRECTIVE, LEGACY, CONFIGURED], ids=["2023", "2006", "conf"])
@pytest.mark.parametrize("urgency", [URGENT, NON_URGENT], ids=lambda u: u.value)
def test_sirene_and_prum_keep_their_own_clocks(
    kind: MessageKind,
    channel: Channel,
    expected: timedelta,
    basis: LimitBasis,
    rules: RuleSet,
    urgency: Urgency,
) -> None:
    limit = limit_of(rules, kind=kind, channel=channel, urgency=urgency)
    assert (limit.seconds, limit.basis) == (seconds(expected), basis)


def test_rule_sets_are_found_by_name() -> None:
    assert RULE_SETS[RuleSetName.DIRECTIVE_2023_977] is DIRECTIVE_2023_977
    assert RULE_SETS[RuleSetName.FRAMEWORK_DECISION_2006_960] is FRAMEWORK_DECISION_2006_960

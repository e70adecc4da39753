"""Time limits: Directive 2023/977 Art. 5(1), the legacy Framework Decision 2006/960, the
SIRENE and Prüm clocks, and scenario limits for channels without one in law."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.deadlines import (
    DIRECTIVE_2023_977,
    FRAMEWORK_DECISION_2006_960,
    HOUR,
    RULE_SETS,
    RuleSet,
    time_limit,
)
from schemas.enums import Accessibility, Channel, MessageKind, RuleSetName, Urgency

URGENT, NON_URGENT = Urgency.URGENT, Urgency.NON_URGENT
DIRECT, INDIRECT = Accessibility.DIRECT, Accessibility.INDIRECT
DIRECTIVE, LEGACY = DIRECTIVE_2023_977, FRAMEWORK_DECISION_2006_960
MINUTES, HOURS, DAYS = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


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
def test_request_limit_under_each_rule_set(
    rules: RuleSet, urgency: Urgency, accessibility: Accessibility, expected: timedelta
) -> None:
    assert time_limit(MessageKind.REQUEST, Channel.SIENA, urgency, accessibility, rules) == expected


@pytest.mark.parametrize(
    ("kind", "channel", "expected"),
    [
        pytest.param(MessageKind.SIRENE_FORM, Channel.SIRENE, 12 * HOURS, id="sirene-12h"),
        pytest.param(MessageKind.PRUM_QUERY, Channel.PRUM, 15 * MINUTES, id="prum-1-15min"),
        pytest.param(MessageKind.PRUM_FOLLOWUP, Channel.PRUM, 48 * HOURS, id="prum-2-48h"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("urgency", [URGENT, NON_URGENT], ids=lambda u: u.value)
def test_sirene_and_prum_limits_ignore_urgency(
    kind: MessageKind, channel: Channel, expected: timedelta, urgency: Urgency
) -> None:
    assert time_limit(kind, channel, urgency, DIRECT, DIRECTIVE) == expected


def test_sirene_limit_is_the_same_under_the_legacy_rule_set() -> None:
    limit = time_limit(MessageKind.SIRENE_FORM, Channel.SIRENE, URGENT, DIRECT, LEGACY)

    assert limit == 12 * HOURS


def test_sirene_form_keeps_its_limit_when_rerouted_over_siena() -> None:
    limit = time_limit(MessageKind.SIRENE_FORM, Channel.SIENA, URGENT, DIRECT, DIRECTIVE)

    assert limit == 12 * HOURS


class TestChannelLimits:
    RULES = DIRECTIVE.model_copy(
        update={"channel_limits": {Channel.INTERPOL_I247: 30 * HOUR, Channel.PRUM: 1 * HOUR}}
    )

    def test_configured_channel_limit_replaces_the_matrix(self) -> None:
        limit = time_limit(MessageKind.REQUEST, Channel.INTERPOL_I247, URGENT, DIRECT, self.RULES)

        assert limit == 30 * HOURS

    def test_other_channels_keep_the_matrix(self) -> None:
        limit = time_limit(MessageKind.REQUEST, Channel.SIENA, URGENT, DIRECT, self.RULES)

        assert limit == 8 * HOURS

    def test_unconfigured_channel_without_a_limit_in_law_uses_the_matrix(self) -> None:
        limit = time_limit(MessageKind.REQUEST, Channel.PCCC, NON_URGENT, INDIRECT, self.RULES)

        assert limit == 7 * DAYS

    def test_prum_query_keeps_its_own_limit(self) -> None:
        limit = time_limit(MessageKind.PRUM_QUERY, Channel.PRUM, URGENT, DIRECT, self.RULES)

        assert limit == 15 * MINUTES


def test_rule_sets_are_found_by_name() -> None:
    assert RULE_SETS[RuleSetName.DIRECTIVE_2023_977] is DIRECTIVE_2023_977
    assert RULE_SETS[RuleSetName.FRAMEWORK_DECISION_2006_960] is FRAMEWORK_DECISION_2006_960

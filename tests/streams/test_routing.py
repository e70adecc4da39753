"""Channel choice (Directive 2023/977 Art. 13): SIENA by default, other channels where the
table says so, and a recorded fallback when a channel is down."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from schemas.clock import ChannelOutage, ExerciseSetup
from schemas.enums import Channel, Country, MessageKind
from streams.routing import NoChannelError, RoutingConfig, route, routing_for
from tests.factories import make_message

C = Country
K = MessageKind
SIENA, I247, SIRENE, PRUM = Channel.SIENA, Channel.INTERPOL_I247, Channel.SIRENE, Channel.PRUM
PCCC, LIAISON = Channel.PCCC, Channel.LIAISON_OFFICER
NO_CONFIG = RoutingConfig()
PL_DE_PCCC = RoutingConfig(pcccs=frozenset({frozenset({C.PL, C.DE})}))
PL_DE_LIAISON = RoutingConfig(liaison_officers=frozenset({frozenset({C.PL, C.DE})}))
PL_US_LIAISON = RoutingConfig(liaison_officers=frozenset({frozenset({C.PL, C.US})}))
PL_DE_BOTH = RoutingConfig(pcccs=PL_DE_PCCC.pcccs, liaison_officers=PL_DE_LIAISON.liaison_officers)


def case(
    case_id: str,
    kind: MessageKind,
    sender: Country,
    recipient: Country,
    expected: Channel,
    config: RoutingConfig = NO_CONFIG,
) -> Any:
    return pytest.param(kind, sender, recipient, config, expected, id=case_id)


@pytest.mark.parametrize(
    ("kind", "sender", "recipient", "config", "expected"),
    [
        case("PL-DE-request-siena-by-default", K.REQUEST, C.PL, C.DE, SIENA),
        case("DE-PL-request-siena-by-default", K.REQUEST, C.DE, C.PL, SIENA),
        case("PL-NO-schengen-associated-siena", K.REQUEST, C.PL, C.NO, SIENA),
        case("PL-EUROPOL-stays-on-siena", K.REQUEST, C.PL, C.EUROPOL, SIENA),
        case("PL-US-third-country-interpol", K.REQUEST, C.PL, C.US, I247),
        case("UA-PL-third-country-interpol", K.REQUEST, C.UA, C.PL, I247),
        case("PL-INTERPOL-interpol", K.REQUEST, C.PL, C.INTERPOL, I247),
        case("PL-DE-spontaneous-siena", K.SPONTANEOUS_INFORMATION, C.PL, C.DE, SIENA),
        case("PL-DE-sirene-form-sirene", K.SIRENE_FORM, C.PL, C.DE, SIRENE),
        case("PL-DE-prum-query-prum", K.PRUM_QUERY, C.PL, C.DE, PRUM),
        case("PL-DE-prum-followup-prum", K.PRUM_FOLLOWUP, C.PL, C.DE, PRUM),
        case("PL-INTERPOL-notice-interpol", K.INTERPOL_NOTICE, C.PL, C.INTERPOL, I247),
        case("PL-DE-diffusion-interpol", K.INTERPOL_DIFFUSION, C.PL, C.DE, I247),
        case("PL-DE-pccc-configured", K.REQUEST, C.PL, C.DE, PCCC, PL_DE_PCCC),
        case("DE-PL-pccc-either-way", K.REQUEST, C.DE, C.PL, PCCC, PL_DE_PCCC),
        case("PL-FR-pccc-of-another-pair-siena", K.REQUEST, C.PL, C.FR, SIENA, PL_DE_PCCC),
        case("PL-DE-liaison-officer-configured", K.REQUEST, C.PL, C.DE, LIAISON, PL_DE_LIAISON),
        case("PL-US-liaison-before-interpol", K.REQUEST, C.PL, C.US, LIAISON, PL_US_LIAISON),
        case("PL-DE-liaison-before-pccc", K.REQUEST, C.PL, C.DE, LIAISON, PL_DE_BOTH),
        case("PL-DE-sirene-form-ignores-liaison", K.SIRENE_FORM, C.PL, C.DE, SIRENE, PL_DE_LIAISON),
    ],
)  # fmt: skip
def test_channel(
    kind: MessageKind,
    sender: Country,
    recipient: Country,
    config: RoutingConfig,
    expected: Channel,
) -> None:
    decision = route(make_message(kind, sender=sender, recipient=recipient), config)

    assert decision.channel is expected
    assert decision.fallback_from is None


def test_recipient_is_the_messages_recipient() -> None:
    decision = route(make_message(MessageKind.REQUEST, recipient=C.FR), NO_CONFIG)

    assert decision.recipient is C.FR


def test_default_reason_cites_article_13() -> None:
    decision = route(make_message(MessageKind.REQUEST), NO_CONFIG)

    assert decision.reason == "SIENA by default (Art. 13)"


def test_third_country_reason_cites_article_13a() -> None:
    decision = route(make_message(MessageKind.REQUEST, recipient=C.US), NO_CONFIG)

    assert "Art. 13(a)" in decision.reason


class TestFallback:
    def test_siena_down_falls_back_to_interpol(self) -> None:
        config = RoutingConfig(down=frozenset({Channel.SIENA}))

        decision = route(make_message(MessageKind.REQUEST), config)

        assert decision.channel is Channel.INTERPOL_I247
        assert decision.fallback_from is Channel.SIENA
        assert "Art. 13(c)" in decision.reason
        assert decision.reason.startswith("siena is down")

    def test_no_fallback_to_a_liaison_officer_who_is_not_posted(self) -> None:
        config = RoutingConfig(down=frozenset({Channel.SIENA, Channel.INTERPOL_I247}))

        with pytest.raises(NoChannelError):
            route(make_message(MessageKind.REQUEST), config)

    def test_interpol_down_falls_back_to_posted_liaison_officer(self) -> None:
        config = RoutingConfig(
            down=frozenset({Channel.INTERPOL_I247}),
            liaison_officers=frozenset({frozenset({Country.PL, Country.US})}),
        )
        message = make_message(MessageKind.INTERPOL_DIFFUSION, recipient=Country.US)

        decision = route(message, config)

        assert decision.channel is Channel.LIAISON_OFFICER
        assert decision.fallback_from is Channel.INTERPOL_I247

    def test_sirene_down_falls_back_to_siena(self) -> None:
        config = RoutingConfig(down=frozenset({Channel.SIRENE}))

        decision = route(make_message(MessageKind.SIRENE_FORM), config)

        assert (decision.channel, decision.fallback_from) == (Channel.SIENA, Channel.SIRENE)

    def test_a_down_channel_that_was_not_chosen_changes_nothing(self) -> None:
        config = RoutingConfig(down=frozenset({Channel.INTERPOL_I247}))

        decision = route(make_message(MessageKind.REQUEST), config)

        assert (decision.channel, decision.fallback_from) == (Channel.SIENA, None)

    def test_all_fallbacks_down_raises_no_channel(self) -> None:
        config = RoutingConfig(
            down=frozenset({Channel.SIENA, Channel.INTERPOL_I247, Channel.LIAISON_OFFICER})
        )

        with pytest.raises(NoChannelError, match="siena and its fallbacks"):
            route(make_message(MessageKind.REQUEST), config)


class TestRoutingForAnExercise:
    OUTAGE_START = datetime(2030, 6, 15, 10, 0, tzinfo=UTC)
    OUTAGE_END = OUTAGE_START + timedelta(hours=2)
    SETUP = ExerciseSetup(
        pcccs=[(C.PL, C.DE)],
        liaison_officers=[(C.PL, C.US)],
        outages=[ChannelOutage(channel=SIENA, start=OUTAGE_START, end=OUTAGE_END)],
    )

    def test_without_an_exercise_the_base_applies(self) -> None:
        assert routing_for(None, self.OUTAGE_START, PL_DE_LIAISON) is PL_DE_LIAISON

    def test_exercise_pairs_are_added_to_the_base(self) -> None:
        base = RoutingConfig(pcccs=frozenset({frozenset({C.FR, C.DE})}))

        config = routing_for(self.SETUP, self.OUTAGE_END, base)

        assert config.pcccs == {frozenset({C.FR, C.DE}), frozenset({C.PL, C.DE})}
        assert config.liaison_officers == {frozenset({C.PL, C.US})}

    @pytest.mark.parametrize(
        ("offset", "down"),
        [
            pytest.param(-timedelta(seconds=1), frozenset(), id="a-second-before"),
            pytest.param(timedelta(0), frozenset({SIENA}), id="at-the-start"),
            pytest.param(timedelta(seconds=7199), frozenset({SIENA}), id="last-second"),
            pytest.param(timedelta(hours=2), frozenset(), id="at-the-end"),
        ],
    )  # fmt: skip
    def test_outage_is_down_from_its_start_until_its_end(
        self, offset: timedelta, down: frozenset[Channel]
    ) -> None:
        config = routing_for(self.SETUP, self.OUTAGE_START + offset, NO_CONFIG)

        assert config.down == down

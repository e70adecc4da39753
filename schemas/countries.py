"""Facts about the parties: membership, accepted languages, organisations."""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from schemas.enums import Country, RuleSetName

C = Country

EU_MEMBERS: Final = frozenset(
    {
        C.AT, C.BE, C.BG, C.HR, C.CY, C.CZ, C.DK, C.EE, C.FI, C.FR, C.DE, C.EL, C.HU, C.IE,
        C.IT, C.LV, C.LT, C.LU, C.MT, C.NL, C.PL, C.PT, C.RO, C.SK, C.SI, C.ES, C.SE,
    }
)  # fmt: skip
SCHENGEN_ASSOCIATED: Final = frozenset({C.IS, C.LI, C.NO, C.CH})
ORGANISATIONS: Final = frozenset({C.EUROPOL, C.INTERPOL})
THIRD_COUNTRIES: Final = frozenset(set(Country) - EU_MEMBERS - SCHENGEN_ASSOCIATED - ORGANISATIONS)

# Languages each party accepts requests in (ISO 639-1); every EU SPOC accepts English.
_OWN_LANGUAGE: Final[dict[Country, tuple[str, ...]]] = {
    C.AT: ("de",), C.BE: ("nl", "fr", "de"), C.BG: ("bg",), C.HR: ("hr",), C.CY: ("el",),
    C.CZ: ("cs",), C.DK: ("da",), C.EE: ("et",), C.FI: ("fi", "sv"), C.FR: ("fr",),
    C.DE: ("de",), C.EL: ("el",), C.HU: ("hu",), C.IE: ("ga",), C.IT: ("it",), C.LV: ("lv",),
    C.LT: ("lt",), C.LU: ("fr", "de", "lb"), C.MT: ("mt",), C.NL: ("nl",), C.PL: ("pl",),
    C.PT: ("pt",), C.RO: ("ro",), C.SK: ("sk",), C.SI: ("sl",), C.ES: ("es",), C.SE: ("sv",),
    C.IS: ("is",), C.LI: ("de",), C.NO: ("no",), C.CH: ("de", "fr", "it"), C.UK: (),
    C.US: (), C.UA: ("uk",), C.MD: ("ro",), C.RS: ("sr",), C.TR: ("tr",), C.MA: ("ar", "fr"),
    C.CO: ("es",), C.BR: ("pt",), C.EUROPOL: (), C.INTERPOL: ("fr", "es", "ar"),
}  # fmt: skip

ACCEPTED_LANGUAGES: Final = MappingProxyType(
    {country: frozenset((*own, "en")) for country, own in _OWN_LANGUAGE.items()}
)


def is_third_party(party: Country) -> bool:
    """True for a third country or an international organisation other than Europol, the
    parties that Directive 2023/977 Art. 13(a) lets a SPOC reach outside SIENA."""
    return party in THIRD_COUNTRIES or party is Country.INTERPOL


def accepts_language(party: Country, language: str) -> bool:
    """Whether `party` publishes `language` (ISO 639-1) among the languages it accepts."""
    return language in ACCEPTED_LANGUAGES[party]


def bound_by(party: Country, rules: RuleSetName) -> bool:
    """Whether `party` is bound by the rule set `rules`.

    Both Directive (EU) 2023/977 and the Framework Decision 2006/960 bind the Member States
    and, as developments of the Schengen acquis, Iceland, Liechtenstein, Norway and
    Switzerland. Model choice: every Member State counts as bound, Denmark and Ireland
    included (their opt-in positions are left aside). Europol, Interpol and third countries
    are not bound."""
    del rules  # both rule sets bind the same parties
    return party in EU_MEMBERS or party in SCHENGEN_ASSOCIATED

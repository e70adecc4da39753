"""Enumerations of the exchange: who, over which channel, how urgent, how restricted."""

from __future__ import annotations

from enum import StrEnum


class Country(StrEnum):
    """A party to the exchange: a state (ISO 3166-1 alpha-2, Greece as EL per EU usage)
    or an international organisation."""

    # EU member states
    AT = "AT"
    BE = "BE"
    BG = "BG"
    HR = "HR"
    CY = "CY"
    CZ = "CZ"
    DK = "DK"
    EE = "EE"
    FI = "FI"
    FR = "FR"
    DE = "DE"
    EL = "EL"
    HU = "HU"
    IE = "IE"
    IT = "IT"
    LV = "LV"
    LT = "LT"
    LU = "LU"
    MT = "MT"
    NL = "NL"
    PL = "PL"
    PT = "PT"
    RO = "RO"
    SK = "SK"
    SI = "SI"
    ES = "ES"
    SE = "SE"
    # Schengen associated states
    IS = "IS"
    LI = "LI"
    NO = "NO"
    CH = "CH"
    # third countries
    UK = "UK"
    US = "US"
    UA = "UA"
    MD = "MD"
    RS = "RS"
    TR = "TR"
    MA = "MA"
    CO = "CO"
    BR = "BR"
    # international organisations
    EUROPOL = "EUROPOL"
    INTERPOL = "INTERPOL"


class Channel(StrEnum):
    """The channels that converge at a Single Point of Contact (Directive 2023/977 Art. 13)."""

    SIENA = "siena"
    INTERPOL_I247 = "interpol_i247"
    SIRENE = "sirene"
    PRUM = "prum"
    PCCC = "pccc"
    LIAISON_OFFICER = "liaison_officer"


class Urgency(StrEnum):
    """Art. 4: urgent when there is an immediate serious threat, a threat to life, a decision
    depriving someone of liberty, or imminent loss of relevance."""

    URGENT = "urgent"
    NON_URGENT = "non_urgent"


class Accessibility(StrEnum):
    """Whether the requested information is directly or indirectly accessible (Art. 2)."""

    DIRECT = "direct"
    INDIRECT = "indirect"


class HandlingCode(StrEnum):
    """SIENA handling codes."""

    H0 = "H0"  # use only for fighting crime
    H1 = "H1"  # not in judicial proceedings without the provider's consent
    H2 = "H2"  # not to be passed on without the provider's consent
    H3 = "H3"  # other restrictions (free text)


class SourceReliability(StrEnum):
    """Europol 4x4: evaluation of the source."""

    A = "A"
    B = "B"
    C = "C"
    X = "X"


class InformationAccuracy(StrEnum):
    """Europol 4x4: evaluation of the information."""

    ONE = "1"
    TWO = "2"
    THREE = "3"
    FOUR = "4"


class RefusalGround(StrEnum):
    """The exhaustive refusal grounds of Directive 2023/977 Art. 6(1)."""

    NOT_AVAILABLE = "a_not_available"
    NOT_ART4 = "b_does_not_meet_art4"
    JUDICIAL_AUTHORISATION_REFUSED = "c_judicial_authorisation_refused"
    DATA_CATEGORY = "d_personal_data_category"
    INACCURATE = "e_inaccurate_or_outdated"
    NATIONAL_SECURITY = "f_national_security_investigation_safety"
    MINOR_OFFENCE = "g_minor_or_no_offence"
    THIRD_PARTY_NO_CONSENT = "h_third_party_no_consent"


class RequestState(StrEnum):
    """A request's life at the hub; OVERDUE is a flag kept beside the state, not a state."""

    SUBMITTED = "submitted"
    RECEIVED = "received"
    VALIDATED = "validated"
    ROUTED = "routed"
    DELIVERED = "delivered"
    CLARIFICATION_PENDING = "clarification_pending"
    AWAITING_JUDICIAL_AUTH = "awaiting_judicial_auth"
    ANSWERED = "answered"
    REFUSED = "refused"
    CLOSED = "closed"
    REJECTED = "rejected"


class MessageKind(StrEnum):
    """The discriminator of every message on the wire."""

    REQUEST = "request"
    REPLY = "reply"
    PARTIAL_REPLY = "partial_reply"
    REFUSAL = "refusal"
    CLARIFICATION_REQUEST = "clarification_request"
    CLARIFICATION_REPLY = "clarification_reply"
    DELAY_NOTICE = "delay_notice"
    SPONTANEOUS_INFORMATION = "spontaneous_information"
    ACKNOWLEDGEMENT = "acknowledgement"
    SIRENE_FORM = "sirene_form"
    INTERPOL_NOTICE = "interpol_notice"
    INTERPOL_DIFFUSION = "interpol_diffusion"
    PRUM_QUERY = "prum_query"
    PRUM_RESULT = "prum_result"
    PRUM_FOLLOWUP = "prum_followup"
    OVERDUE_NOTICE = "overdue_notice"


class SireneFormType(StrEnum):
    """SIRENE forms exchanged after a hit on a SIS alert."""

    A = "A"  # arrest / extradition
    G = "G"  # hit where action was taken
    M = "M"  # miscellaneous, follow-up
    I = "I"  # noqa: E741  use of data for another purpose


class NoticeColour(StrEnum):
    """Interpol notice colours."""

    RED = "red"
    BLUE = "blue"
    GREEN = "green"
    YELLOW = "yellow"
    BLACK = "black"
    ORANGE = "orange"
    PURPLE = "purple"


class PrumCategory(StrEnum):
    """What a Prüm step-1 query searches."""

    DNA = "dna"
    FINGERPRINTS = "fingerprints"
    VEHICLE_REGISTRATION = "vehicle_registration"


class PrumOutcome(StrEnum):
    """Prüm step-1 answer."""

    HIT = "hit"
    NO_HIT = "no_hit"


class RuleSetName(StrEnum):
    """Sets of time limits a hub can apply."""

    DIRECTIVE_2023_977 = "directive_2023_977"
    FRAMEWORK_DECISION_2006_960 = "framework_decision_2006_960"


class Outcome(StrEnum):
    """How a request stands for a trainer: settled by a reply or a refusal, flagged overdue
    and not settled, or still open."""

    ANSWERED = "answered"
    REFUSED = "refused"
    OVERDUE = "overdue"
    OPEN = "open"

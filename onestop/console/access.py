"""Who may do what in the console: access codes, sessions and roles.

The console prints a code for exercise control (trainer) and one for observers when it
starts, and one per trainee desk when an exercise with trainees starts. Codes are random
for every console start. A code opens a session (an HttpOnly, SameSite=Strict cookie) or is
sent as a bearer token by a script. Every request that changes something is checked for
its role on the server; a desk's grant names its party, and reaches only that party.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Final

from onestop.console.models import Role
from schemas.enums import Country

SESSION_COOKIE: Final = "onestop_session"
_ALPHABET: Final = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


def new_code() -> str:
    """A code like `K7QF-2MXD-9PRT`: 60 bits, easy to read out and type."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(4)) for _ in range(3))
    return "-".join(groups)


@dataclass(frozen=True)
class Grant:
    """What a code opens: a role, and for a desk its party."""

    role: Role
    party: Country | None = None

    @property
    def can_steer(self) -> bool:
        """Exercise control: clock, injects, exercises, observations."""
        return self.role is Role.TRAINER

    def may_act_for(self, party: Country) -> bool:
        """A desk acts only for its own party."""
        return self.role is Role.DESK and self.party is party


@dataclass
class Access:
    """The codes of one console run, and the sessions they opened."""

    codes: dict[str, Grant] = field(default_factory=dict)
    sessions: dict[str, Grant] = field(default_factory=dict)

    @classmethod
    def fresh(cls) -> Access:
        """A trainer code and an observer code, new."""
        access = cls()
        access.issue(Grant(Role.TRAINER))
        access.issue(Grant(Role.OBSERVER))
        return access

    def issue(self, grant: Grant) -> str:
        """A new code for `grant`."""
        code = new_code()
        self.codes[code] = grant
        return code

    def code_of(self, grant: Grant) -> str | None:
        """The code issued for `grant`, if any."""
        return next((c for c, g in self.codes.items() if g == grant), None)

    def desk_codes(self) -> dict[Country, str]:
        """The code of every desk, by party."""
        return {g.party: c for c, g in self.codes.items() if g.party is not None}

    def check(self, code: str) -> Grant | None:
        """The grant of `code`, compared in constant time; None for a wrong code."""
        typed = code.strip().upper()
        found = None
        for known, grant in self.codes.items():
            if secrets.compare_digest(known.encode(), typed.encode()):
                found = grant
        return found

    def open_session(self, code: str) -> tuple[str, Grant] | None:
        """A new session for `code`: its id and grant; None for a wrong code."""
        grant = self.check(code)
        if grant is None:
            return None
        session = secrets.token_urlsafe(32)
        self.sessions[session] = grant
        return session, grant

    def close_session(self, session: str) -> None:
        """Forget a session (logging out)."""
        self.sessions.pop(session, None)

    def grant_of(self, session: str | None, bearer: str | None) -> Grant | None:
        """Who a request is: its session cookie, else its bearer token (a code)."""
        if session and session in self.sessions:
            return self.sessions[session]
        if bearer:
            return self.check(bearer)
        return None

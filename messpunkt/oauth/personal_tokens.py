"""Personal access tokens: long-lived bearer tokens a tenant creates by hand.

Like KOSTAL's or GitHub's: created with a name, scopes, properties and an
expiry; the secret is shown once and kept only as a hash; revocable. Each
is a session of its own, so /v1 applies the same checks as to any token.
"""

from __future__ import annotations

from datetime import datetime

from . import randomness
from .sessions import Grant, Sessions
from .store import Session, SessionKind, digest

PREFIX = "mpat_"
CLIENT_ID = "personal-access-token"


class PersonalAccessTokens:
    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.store = sessions.store

    def create(
        self,
        *,
        tenant_id: str,
        subject: str,
        name: str,
        scopes: tuple[str, ...],
        property_ids: tuple[str, ...],
        expires_at: datetime,
        now: datetime,
    ) -> tuple[Session, str]:
        """Create a token; the returned secret is never available again."""
        token = PREFIX + randomness.token_urlsafe(32)
        grant = Grant(CLIENT_ID, tenant_id, subject, scopes, property_ids)
        with self.store.atomic():
            session = self.sessions.start(
                grant, SessionKind.PERSONAL_ACCESS_TOKEN, now, expires_at=expires_at, name=name
            )
            self.store.add_personal_token(digest(token), session.id)
        return session, token

    def session(self, token: str, now: datetime) -> Session | None:
        """Return the token's session while it is usable."""
        session_id = self.store.personal_token(digest(token))
        return None if session_id is None else self.sessions.active(session_id, now)

    def all(self) -> list[Session]:
        return [s for s in self.store.sessions() if s.kind is SessionKind.PERSONAL_ACCESS_TOKEN]

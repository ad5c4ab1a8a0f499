"""Personal access tokens: long-lived bearer tokens a tenant creates by hand.

Like KOSTAL's or GitHub's: created with a name, scopes, properties and an
expiry; the secret is shown once and kept only as a hash; revocable. Each
is a session of its own, so /v1 applies the same checks as to any token.
"""

from __future__ import annotations

from datetime import datetime

from . import randomness
from .store import (
    AuthStore,
    Grant,
    Issue,
    Issued,
    Moment,
    NewSession,
    Session,
    SessionKind,
    digest,
)

PREFIX = "mpat_"
CLIENT_ID = "personal-access-token"


def create_personal_token(
    store: AuthStore,
    *,
    tenant_id: str,
    subject: str,
    name: str,
    scopes: tuple[str, ...],
    property_ids: tuple[str, ...],
    expires_at: datetime,
    at: Moment,
) -> tuple[Session, str]:
    """Create a token; the returned secret is never available again."""
    token = PREFIX + randomness.token_urlsafe(32)
    new = NewSession(
        randomness.token_urlsafe(16),
        SessionKind.PERSONAL_ACCESS_TOKEN,
        expires_at=expires_at,
        name=name,
        personal_token_hash=digest(token),
    )
    grant = Grant(CLIENT_ID, tenant_id, subject, scopes, property_ids)
    # Its only "access token" is the token itself, valid for the session's whole life.
    issued = store.start_session(new, grant, Issue(access_ttl=expires_at - at.now), at)
    assert isinstance(issued, Issued), "a personal access token's client is no registered one"
    return issued.session, token


def personal_token_session(store: AuthStore, token: str, now: datetime) -> Session | None:
    """Return the token's session while it is usable."""
    return store.personal_token(digest(token), now)

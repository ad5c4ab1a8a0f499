"""/sandbox/sessions and /sandbox/personal-access-tokens: see, end and issue grants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask.views import MethodView
from flask_smorest import abort

from ..oauth.personal_tokens import create_personal_token
from ..oauth.store import Session, SessionKind
from ..web.context import sandbox
from ..web.pagination import by_id, paginate
from .admin import ControlsBlueprint
from .schemas import (
    CreatedPersonalAccessTokenSchema,
    NothingSchema,
    PersonalAccessTokenCreateSchema,
    PersonalAccessTokenListSchema,
    PersonalAccessTokenQueryArgsSchema,
    SessionListSchema,
    SessionQueryArgsSchema,
    SessionSchema,
)

blp = ControlsBlueprint(
    "sandbox_sessions", __name__, "Sandbox controls: sessions and personal access tokens"
)


@blp.route("/sessions")
class Sessions(MethodView):
    @blp.documented()
    @blp.arguments(SessionQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, SessionListSchema)
    def get(
        self,
        limit: int,
        cursor: str | None = None,
        state: str | None = None,
        tenant_id: str | None = None,
        client_id: str | None = None,
    ) -> dict[str, Any]:
        """List sessions, newest first, with their state and history"""
        served = sandbox()
        now = served.now
        chosen = [
            s
            for s in served.store.sessions()
            if state in (None, s.state(now).value)
            and client_id in (None, s.client_id)
            and tenant_id in (None, s.tenant_id)
        ]
        filters = {"state": state, "tenant_id": tenant_id, "client_id": client_id}
        page = paginate(chosen, limit, cursor, key=by_id, **filters)
        page["data"] = [session_document(s, now) for s in page["data"]]
        return page


@blp.route("/sessions/<session_id>")
class SessionById(MethodView):
    @blp.documented(404)
    @blp.response(200, SessionSchema)
    def get(self, session_id: str) -> dict[str, Any]:
        """Show a session and why it ended, if it did"""
        return session_document(_session(session_id), sandbox().now)


@blp.route("/sessions/<session_id>/revoke")
class SessionRevoke(MethodView):
    @blp.documented(404)
    @blp.arguments(NothingSchema, required=False, as_kwargs=True)  # a `reason` would be ignored
    @blp.response(200, SessionSchema)
    def post(self, session_id: str) -> dict[str, Any]:
        """End a session now, so a client can rehearse the 401 and its recovery"""
        served = sandbox()
        session = served.store.revoke_session(
            session_id, "revoked through the sandbox controls", served.now
        )
        if session is None:
            abort(404, message="no session with this id")
        assert session is not None
        return session_document(session, served.now)


@blp.route("/personal-access-tokens")
class PersonalAccessTokens(MethodView):
    @blp.documented()
    @blp.arguments(PersonalAccessTokenQueryArgsSchema, location="query", as_kwargs=True)
    @blp.response(200, PersonalAccessTokenListSchema)
    def get(
        self,
        limit: int,
        cursor: str | None = None,
        state: str | None = None,
        tenant_id: str | None = None,
    ) -> dict[str, Any]:
        """List personal access tokens (never their secrets)"""
        served = sandbox()
        now = served.now
        chosen = [
            s
            for s in served.store.sessions()
            if s.kind is SessionKind.PERSONAL_ACCESS_TOKEN
            and state in (None, s.state(now).value)
            and tenant_id in (None, s.tenant_id)
        ]
        filters = {"state": state, "tenant_id": tenant_id}
        page = paginate(chosen, limit, cursor, key=by_id, **filters)
        page["data"] = [token_document(s, now) for s in page["data"]]
        return page

    @blp.documented(422, 503)  # 503: the sandbox reset or its clock moved meanwhile
    @blp.arguments(PersonalAccessTokenCreateSchema)
    @blp.response(201, CreatedPersonalAccessTokenSchema)
    def post(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Create a personal access token for a tenant; the secret is shown only here"""
        served = sandbox()
        catalogue = served.data.catalogue
        tenant = catalogue.tenant(body["tenant_id"])
        if tenant is None:
            abort(422, message="unknown tenant", errors={"tenant_id": ["Unknown tenant."]})
        assert tenant is not None
        foreign = [
            pid
            for pid in body["property_ids"]
            if (p := catalogue.property(pid)) is None or p.tenant_id != tenant.id
        ]
        if foreign:
            abort(
                422,
                message="every property must belong to the tenant",
                errors={
                    "property_ids": [f"Not a property of this tenant: {pid}" for pid in foreign]
                },
            )
        now = served.now
        session, token = create_personal_token(
            served.store,
            tenant_id=tenant.id,
            subject=tenant.demo_users[0].id,
            name=body["name"],
            scopes=tuple(dict.fromkeys(body["scopes"])),
            property_ids=tuple(dict.fromkeys(body["property_ids"])),
            expires_at=now + timedelta(seconds=body["expires_in"]),
            at=served.moment,
        )
        # RFC 9111 §5.2.2.5: the secret is shown once, and no cache may keep it.
        return {**token_document(session, now), "token": token}, {"Cache-Control": "no-store"}


@blp.route("/personal-access-tokens/<token_id>")
class PersonalAccessTokenById(MethodView):
    @blp.documented(404)
    @blp.response(204)
    def delete(self, token_id: str) -> None:
        """Revoke a personal access token at once"""
        served = sandbox()
        revoked = served.store.revoke_session(
            token_id, "personal access token revoked", served.now, SessionKind.PERSONAL_ACCESS_TOKEN
        )
        if revoked is None:
            abort(404, message="no personal access token with this id")


def session_document(session: Session, now: datetime) -> dict[str, Any]:
    return {
        "id": session.id,
        "kind": session.kind.value,
        "client_id": session.client_id,
        "tenant_id": session.tenant_id,
        "subject": session.subject,
        "name": session.name,
        "scopes": list(session.scopes),
        "property_ids": list(session.property_ids),
        "created_at": session.created_at,
        "expires_at": session.ends_at(),
        "absolute_expires_at": session.expires_at,
        "state": session.state(now).value,
        "revoked_reason": session.revoked_reason,
        "events": [
            {"at": e.at, "kind": e.kind.value, "detail": e.detail} for e in session.history(now)
        ],
    }


def token_document(session: Session, now: datetime) -> dict[str, Any]:
    return {
        "id": session.id,
        "name": session.name,
        "tenant_id": session.tenant_id,
        "scopes": list(session.scopes),
        "property_ids": list(session.property_ids),
        "created_at": session.created_at,
        "expires_at": session.expires_at,
        "state": session.state(now).value,
    }


def _session(session_id: str) -> Session:
    session = sandbox().store.session(session_id)
    if session is None:
        abort(404, message="no session with this id")
    assert session is not None
    return session

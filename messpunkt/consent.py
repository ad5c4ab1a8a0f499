"""The consent policy: which properties a consent offers and grants, and who is signed in.

There is no real login: each tenant has demo users in the fixtures. This is
where the OAuth core's `ConsentPolicy` meets the metering catalogue, so that
`messpunkt.oauth` knows nothing of tenants and properties.
"""

from __future__ import annotations

from collections.abc import Sequence

from .metering.catalogue import Catalogue
from .metering.model import DemoUser, Property, Tenant
from .oauth.authorization import Approval
from .oauth.clients import Client
from .oauth.errors import AccessDenied, InvalidRequest
from .oauth.params import Params, single


class Consent:
    """The consent rules of one data set (API.md "Authorization endpoint")."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue

    def tenants_for(self, client: Client) -> list[Tenant]:
        """Return the tenants whose users may sign in for this client."""
        return [t for t in self.catalogue.tenants() if client.tenant_id in (None, t.id)]

    def signed_in(
        self, client: Client, tenant_id: str | None, user_id: str | None
    ) -> tuple[Tenant, DemoUser]:
        """Return the tenant and demo user asked for, or the first ones this client allows.

        Raises `AccessDenied` when the data set has no tenant for this client at all.
        """
        allowed = self.tenants_for(client)
        if not allowed:
            raise AccessDenied("no tenant of this sandbox's data set can sign in for this client")
        tenant = next((t for t in allowed if t.id == tenant_id), allowed[0])
        user = next((u for u in tenant.demo_users if u.id == user_id), tenant.demo_users[0])
        return tenant, user

    def properties_to_offer(self, client: Client, tenant: Tenant) -> list[Property]:
        """Return the tenant's properties the consent page may offer this client."""
        if client.tenant_id not in (None, tenant.id):
            return []
        return [p for p in self.catalogue.properties() if p.tenant_id == tenant.id]

    def approve(self, client: Client, params: Params) -> Approval:
        """Grant the ticked properties, which must all belong to one tenant, to its user."""
        tenant, properties = self._granted_properties(client, params)
        return Approval(tenant.id, self._subject(tenant, params), tuple(p.id for p in properties))

    def _granted_properties(
        self, client: Client, params: Params
    ) -> tuple[Tenant, Sequence[Property]]:
        ids = list(dict.fromkeys(params.get("property", ())))
        if not ids:
            raise InvalidRequest("grant at least one property")
        properties = []
        for property_id in ids:
            found = self.catalogue.property(property_id)
            if found is None:
                raise InvalidRequest(f"unknown property {property_id!r}")
            properties.append(found)
        tenant_ids = {p.tenant_id for p in properties}
        if len(tenant_ids) != 1:
            raise InvalidRequest("all granted properties must belong to one tenant")
        tenant = self.catalogue.tenant(tenant_ids.pop())
        assert tenant is not None
        if client.tenant_id not in (None, tenant.id):
            raise AccessDenied("this client may not access that tenant's properties")
        return tenant, properties

    def _subject(self, tenant: Tenant, params: Params) -> str:
        user_id = single(params, "user")
        if user_id is None:
            return tenant.demo_users[0].id
        if all(user.id != user_id for user in tenant.demo_users):
            raise InvalidRequest("user is not a demo user of the granting tenant")
        return user_id

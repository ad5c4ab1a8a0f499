"""The consent page's words in German and English, and the choice between them."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import LanguageAccept

# German first: the default when the header is missing or names neither, and the
# winner of a tie in quality (werkzeug's best_match keeps the first of equals).
LANGUAGES = ("de", "en")


@dataclass(frozen=True)
class ConsentText:
    """Every string of the consent page in one language."""

    title: str  # "{client}" is replaced by the client's name
    wants_access: str  # follows the client's name in the heading
    signed_in_as: str
    for_tenant: str
    switch_user: str
    allowed_to: str
    for_properties: str
    no_properties: str
    select_a_property: str
    sent_back_to: str  # followed by the redirect URI's host
    approve: str
    deny: str
    scopes: dict[str, str]  # what each scope allows, in plain words


TEXT = {
    "de": ConsentText(
        title="{client} Zugriff erlauben?",
        wants_access="möchte auf Ihre Messdaten zugreifen",
        signed_in_as="Angemeldet als",
        for_tenant="für",
        switch_user="Anmelden als:",
        allowed_to="Die Anwendung darf dann",
        for_properties="für diese Liegenschaften",
        no_properties="Dieser Mandant hat keine Liegenschaften, die diese Anwendung sehen darf.",
        select_a_property=(
            "Wählen Sie mindestens eine Liegenschaft aus, um den Zugriff zu erlauben, "
            "oder lehnen Sie ihn ab."
        ),
        sent_back_to="Danach werden Sie zurückgeleitet zu",
        approve="Erlauben",
        deny="Ablehnen",
        scopes={
            "read:units": (
                "Ihre Liegenschaften und deren Nutzeinheiten (Wohnungen, Gewerbe) "
                "mit ihrer Fläche sehen"
            ),
            "read:devices": "Die in diesen Nutzeinheiten eingebauten Messstellen und Zähler sehen",
            "read:readings": "Zählerstände und Verbräuche dieser Nutzeinheiten lesen",
        },
    ),
    "en": ConsentText(
        title="Allow {client} access?",
        wants_access="wants to access your metering data",
        signed_in_as="Signed in as",
        for_tenant="for",
        switch_user="Sign in as:",
        allowed_to="It will be able to",
        for_properties="for these properties",
        no_properties="This tenant has no properties this client may access.",
        select_a_property="Select at least one property to approve, or deny the request.",
        sent_back_to="You will be sent back to",
        approve="Approve",
        deny="Deny",
        scopes={
            "read:units": (
                "See your properties and their usage units (flats, shops), with their size"
            ),
            "read:devices": "See the measuring points and meters installed in those units",
            "read:readings": "Read meter readings and consumption of those units",
        },
    ),
}


def negotiate(accepted: LanguageAccept) -> str:
    """Pick the page's language from Accept-Language (RFC 9110 §12.5.4).

    Ranges are cut to their primary subtag first: werkzeug prefers an exact tag
    to a better-quality regional one, so "en-GB, de;q=0.9" would otherwise be German.
    """
    primary = LanguageAccept([(value.split("-")[0], quality) for value, quality in accepted])
    return primary.best_match(LANGUAGES, default=LANGUAGES[0]) or LANGUAGES[0]

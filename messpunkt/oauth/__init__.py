"""The OAuth 2.1 authorization server, organised by the RFC each module implements.

Nothing in this package imports Flask: the views in `messpunkt.web` translate
HTTP to plain values and back.
"""

"""/sandbox: controls over time and state that production does not have.

A clock that moves forward on demand, reset, sessions with their history,
personal access tokens and loading another data set. Every call needs the
admin key; `MESSPUNKT_SANDBOX_CONTROLS=off` removes them all.
"""

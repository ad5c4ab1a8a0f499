"""`python -m messpunkt`: the same as `messpunkt-sandbox`."""

from .cli import main

raise SystemExit(main())

"""WSGI entry point: `waitress-serve app:app` (see `make sandbox`)."""

import os

from messpunkt import create_app
from messpunkt.config import from_environ

app = create_app(from_environ(os.environ))

"""The HTTP edge: Flask blueprints that parse requests, call the core and render answers."""

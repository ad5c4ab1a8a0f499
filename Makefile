# Two commands set everything up: `make sandbox` serves, `make test` tests.
# Both create .venv from pyproject.toml when it is missing or out of date: `make sandbox`
# installs what serving needs, `make test` (and lint, bench) adds the test and dev extras.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# One stamp per install; the full one stamps the runtime too, since it holds it.
RUNTIME := $(VENV)/.installed-runtime
STAMP := $(VENV)/.installed
HOSTED := $(VENV)/.installed-hosting

MESSPUNKT_HOST ?= 127.0.0.1
MESSPUNKT_PORT ?= 8000
MESSPUNKT_THREADS ?= 8
export MESSPUNKT_HOST MESSPUNKT_PORT MESSPUNKT_THREADS

.PHONY: sandbox test bench lint format fixtures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# Hosted (a store URL or several workers) also needs redis-py and gunicorn.
$(HOSTED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[hosting]'
	touch $(RUNTIME) $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,dev,hosting]'
	touch $(RUNTIME) $(HOSTED) $@

sandbox: $(if $(MESSPUNKT_STORE_URL)$(MESSPUNKT_WORKERS),$(HOSTED),$(RUNTIME))  ## serve the sandbox on $(MESSPUNKT_HOST):$(MESSPUNKT_PORT)
	$(BIN)/messpunkt-sandbox

test: $(STAMP)  ## run the whole test suite (installs Debian's redis-server when missing)
	command -v redis-server >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)  ## load the sandbox with wrk beside a bare Flask endpoint, and on Redis
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	command -v redis-server >/dev/null || (apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server)
	$(BIN)/python tests/benchmarks/run.py $(BENCH_ARGS)

lint: $(STAMP)  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy messpunkt tests/benchmarks/run.py

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

fixtures: $(RUNTIME)  ## regenerate sandbox_data/*.json
	$(BIN)/python sandbox_data/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist *.egg-info

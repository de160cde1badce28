# AION: the two commands are `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AION_PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: dev test lint format proto venv admin bench clean browser-tools

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt executor_container/requirements.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# Chromium (Debian) and axe-core for the console's browser tests; idempotent.
browser-tools:
	./tests/e2e/browser/tooling/install.sh

dev: $(STAMP)
	AION_PORT=$(AION_PORT) $(PY) -m devstack

test: $(STAMP) browser-tools
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Create (idempotently) an admin in any stage's tables: make admin EMAIL=... [PASSWORD=...]
admin: $(STAMP)
	$(PY) -m scripts.create_admin --email "$(EMAIL)" $(if $(PASSWORD),--password "$(PASSWORD)")

# Regenerate the executor's gRPC stubs from proto/executor.proto (checked by a unit test).
proto: $(STAMP)
	$(PY) proto/generate.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

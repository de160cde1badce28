# AION: the two commands are `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
REQUIREMENTS := requirements.txt requirements-dev.txt executor_container/requirements.txt \
  infra/requirements.txt client/pyproject.toml
AION_PORT ?= 8000
# Where `make dev` keeps its state across restarts; `make dev-reset` wipes it.
AION_DEV_STATE_DIR ?= $(CURDIR)/.aion-dev
PYTEST_ARGS ?=

.PHONY: dev dev-reset test lint format proto openapi venv python-check admin bench clean \
  browser-tools synth deploy router-model mutation

# Fails fast, before any venv exists, on an interpreter AION cannot run on.
python-check:
	@found="$$($(PYTHON) --version 2>&1)" || { \
	  echo "AION needs Python 3.11+ ($(PYTHON) not found); try PYTHON=python3.12 make $(or $(firstword $(MAKECMDGOALS)),dev)" >&2; exit 1; }; \
	version="$$(sed -n 's/^Python \([0-9]*\.[0-9]*\).*/\1/p' <<< "$$found")"; \
	major="$${version%%.*}"; minor="$${version#*.}"; \
	if [ -z "$$version" ] || [ "$$major" -lt 3 ] || { [ "$$major" -eq 3 ] && [ "$$minor" -lt 11 ]; }; then \
	  echo "AION needs Python 3.11+ (found $${version:-$$found}); try PYTHON=python3.12 make $(or $(firstword $(MAKECMDGOALS)),dev)" >&2; exit 1; \
	fi

# (Re)builds .venv when it is missing, broken, made by another interpreter, or older than the
# requirements; a build that fails leaves no half-made .venv behind.
IDENTITY := import os, sys; print(os.path.realpath(getattr(sys, "_base_executable", sys.executable)), sys.version.split()[0])
venv: python-check
	@want="$$($(PYTHON) -c '$(IDENTITY)')"; \
	have="$$($(PY) -c '$(IDENTITY)' 2>/dev/null)"; \
	if [ -d $(VENV) ] && [ "$$want" != "$$have" ]; then \
	  echo "$(VENV) was made by another Python ($${have:-unknown}; now $$want): rebuilding it"; \
	  rm -rf $(VENV); \
	fi; \
	if [ ! -d $(VENV) ]; then \
	  echo "creating $(VENV) with $$want"; \
	  { $(PYTHON) -m venv $(VENV) && $(PY) -m pip install --quiet --upgrade pip \
	    && $(PY) -m pip install --quiet -r requirements-dev.txt; } \
	    || { rm -rf $(VENV); echo "installing into $(VENV) failed: removed it (run make again)" >&2; exit 1; }; \
	  touch $(STAMP); \
	elif [ ! -f $(STAMP) ] || [ -n "$$(find $(REQUIREMENTS) -newer $(STAMP))" ]; then \
	  $(PY) -m pip install --quiet -r requirements-dev.txt \
	    || { rm -f $(STAMP); echo "updating $(VENV) failed; run make again" >&2; exit 1; }; \
	  touch $(STAMP); \
	fi

# Chromium (Debian) and axe-core for the console's browser tests; idempotent.
browser-tools:
	./tests/e2e/browser/tooling/install.sh

dev: venv
	AION_PORT=$(AION_PORT) AION_DEV_STATE_DIR=$(AION_DEV_STATE_DIR) $(PY) -m devstack

# Forget everything the dev stack kept (tables, files, queue, admin password, signing keys),
# then start it empty.
dev-reset: venv
	AION_DEV_STATE_DIR=$(AION_DEV_STATE_DIR) $(PY) -m devstack.reset
	AION_PORT=$(AION_PORT) AION_DEV_STATE_DIR=$(AION_DEV_STATE_DIR) $(PY) -m devstack

test: venv browser-tools
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest $(PYTEST_ARGS)

# Format, lint, types (mypy: pyproject.toml) and the layers (import-linter contracts).
lint: venv
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .
	$(PY) -m mypy
	$(VENV)/bin/lint-imports

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Create (idempotently) an admin: make admin EMAIL=... [PASSWORD=...] [STAGE=dev|prod]
# In the dev stack running here (found via .aion-dev/stack.json), else in AWS (STAGE, or
# whatever credentials and AION_TABLE_PREFIX say); scripts/create_admin.py explains.
admin: venv
	@test -n "$(EMAIL)" || { echo "usage: make admin EMAIL=you@example.com [PASSWORD=...] [STAGE=dev|prod]" >&2; exit 2; }
	@AION_DEV_STATE_DIR=$(AION_DEV_STATE_DIR) $(PY) -m scripts.create_admin --email "$(EMAIL)" \
	  $(if $(PASSWORD),--password "$(PASSWORD)") $(if $(STAGE),--stage "$(STAGE)")

# Regenerate the executor's gRPC stubs from proto/executor.proto (checked by a unit test).
proto: venv
	$(PY) proto/generate.py

# Regenerate docs/openapi.json from the route table and models (checked by a unit test).
openapi: venv
	$(PY) -m scripts.openapi

# Retrain the router's classifier from router_training/data into chalicelib/router/model.json
# (deterministic; checked by a unit test). ARGS="--cv 5" also prints cross-validated scores.
router-model: venv
	$(PY) -m router_training.train $(ARGS)

# Mutation testing of the core (not part of `make test`; docs/testing.md): mutmut mutates one
# module at a time (MODULES="chalicelib.auth.tokens" for one) with only the tests that exercise
# it ([tool.mutmut] in pyproject.toml), then the score per module; under 85 % fails.
MUTATION_MODULES := chalicelib.logic.lifecycle chalicelib.logic.access chalicelib.auth.tokens \
  chalicelib.auth.tickets chalicelib.auth.refresh chalicelib.router.decision chalicelib.router.rules
MODULES ?= $(MUTATION_MODULES)
mutation: venv
	rm -rf mutants
	for module in $(MODULES); do $(PY) -m mutmut run "$$module.*" || exit 1; done
	$(PY) -m scripts.mutation_score --min 85 --survivors

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache .import_linter_cache .grimp_cache mutants

# --- AWS (infra/, CDK in Python; see README "Deploy to AWS") ---------------------------------
# Offline: no credentials or Docker. Both stages, or one with STAGE=dev|prod; cdk-nag findings
# fail it. Templates and staged assets land in infra/cdk.out.
CDK_CLI ?= npx --yes aws-cdk@2.1148.1
CDK_ARGS ?=
synth: venv
	rm -rf infra/cdk.out && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 CDK_OUTDIR=infra/cdk.out \
	  $(if $(STAGE),CDK_CONTEXT_JSON='{"stage":"$(STAGE)"}') $(PY) infra/app.py
	@ls infra/cdk.out/*.template.json

# Needs AWS credentials, a bootstrapped account (cdk bootstrap), Docker (executor image), Node.
deploy: venv
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod" >&2; exit 2; }
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 $(CDK_CLI) deploy \
	  --context stage=$(STAGE) --require-approval broadening --outputs-file cdk-outputs-$(STAGE).json \
	  $(CDK_ARGS) 'aion-$(STAGE)-*'

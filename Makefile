# AION: the two commands are `make dev` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AION_PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: dev test lint format proto openapi venv admin bench clean browser-tools synth deploy

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): $(PY) requirements.txt requirements-dev.txt executor_container/requirements.txt infra/requirements.txt
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

# Regenerate docs/openapi.json from the route table and models (checked by a unit test).
openapi: $(STAMP)
	$(PY) -m scripts.openapi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# --- AWS (infra/, CDK in Python; see README "Deploy to AWS") ---------------------------------
# Offline: no credentials or Docker. Both stages, or one with STAGE=dev|prod; cdk-nag findings
# fail it. Templates and staged assets land in infra/cdk.out.
CDK_CLI ?= npx --yes aws-cdk@2.1148.1
CDK_ARGS ?=
synth: $(STAMP)
	rm -rf infra/cdk.out && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 CDK_OUTDIR=infra/cdk.out \
	  $(if $(STAGE),CDK_CONTEXT_JSON='{"stage":"$(STAGE)"}') $(PY) infra/app.py
	@ls infra/cdk.out/*.template.json

# Needs AWS credentials, a bootstrapped account (cdk bootstrap), Docker (executor image), Node.
deploy: $(STAMP)
	@test -n "$(STAGE)" || { echo "usage: make deploy STAGE=dev|prod" >&2; exit 2; }
	cd infra && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=1 $(CDK_CLI) deploy \
	  --context stage=$(STAGE) --require-approval broadening --outputs-file cdk-outputs-$(STAGE).json \
	  $(CDK_ARGS) 'aion-$(STAGE)-*'

# The single entry point: CI runs exactly these targets (.ci/run: install, lint, test).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BUF_VERSION ?= 1.75.0

.PHONY: install up demo test lint protos protos-check proto-lint imports bench clean deploy-check

# Install everything into .venv. torch comes first in the same pip call so the CPU build on this
# machine's disk satisfies sentence-transformers instead of a multi-GB CUDA download.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q "torch==2.13.0" -e ".[dev]"
	touch $@

install: $(VENV)/.installed

## Start the whole suite on the embedded default (SQLite + ./.lathe/artifacts); Ctrl-C stops it.
up: install
	$(VENV)/bin/lathe up

## The whole journey in a fresh home (./.lathe-demo): import, train, register, compare, deploy, infer, stop.
## DATASETS= points at the folder holding tinyshakespeare.txt and stackfaq.json.
DATASETS ?= ../shared/datasets
demo: install
	$(VENV)/bin/lathe demo --home .lathe-demo --datasets $(DATASETS)

## Run every test (PostgreSQL from LATHE_TEST_DATABASE_URL, default the local server) and the
## contract checks: generated stubs match protos/, libs never import services, services stay apart.
test: install protos-check imports
	$(PY) -m pytest

lint: install protos-check imports proto-lint deploy-check
	$(VENV)/bin/ruff check libs services tests protos

protos: install
	$(PY) protos/generate.py

protos-check: install
	$(PY) protos/generate.py --check

imports: install
	$(VENV)/bin/lint-imports

# buf comes from the npm registry (@bufbuild/buf); it lints a descriptor image that protoc builds, so the
# googleapis imports resolve from the installed googleapis-common-protos without a network module.
# Only our own files (lathe/) are linted: inference/ is the upstream Open Inference Protocol, verbatim.
proto-lint: install
	$(PY) protos/generate.py --image $(VENV)/protos.binpb
	npx --yes @bufbuild/buf@$(BUF_VERSION) lint $(VENV)/protos.binpb --config protos/buf.yaml \
		--path lathe

## Render every kustomize target (kubectl kustomize), validate each object offline against the Kubernetes schema
## (kubernetes-validate --strict) and check the deployment invariants (deploy/README.md).
deploy-check: install
	$(VENV)/bin/ruff check deploy
	$(PY) deploy/check.py --output $(VENV)/deploy-rendered
	$(VENV)/bin/kubernetes-validate --strict --quiet -k 1.30.0 $(VENV)/deploy-rendered/*.yaml
	$(VENV)/bin/kubernetes-validate --strict --quiet -k 1.37.0 $(VENV)/deploy-rendered/*.yaml

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

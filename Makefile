# Machine learning for marketing automation — every command bootstraps .venv from nothing.
# `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
SEED ?= 42
CUSTOMERS ?= 20000
JOBS ?= auto

# PyTensor (under PyMC): link the system OpenBLAS on Linux (tools/ensure_blas.sh provides it; macOS finds
# Accelerate by itself) and keep its compile cache in the checkout so make, nbval and CI reuse it.
ifeq ($(shell uname -s),Linux)
BLAS_FLAG := ,blas__ldflags=-lopenblas
endif
export PYTENSOR_FLAGS := base_compiledir=$(CURDIR)/.cache/pytensor$(BLAS_FLAG)
export UV_COMPILE_BYTECODE := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

WORLD := $(addprefix data/,customers.csv products.csv transactions.csv events.csv campaigns.csv \
           experiments.csv email_sends.csv leads.csv lead_events.csv campaign_sends.csv truth.json)

help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml tools/bootstrap.sh tools/ensure_blas.sh
	bash tools/bootstrap.sh "$(PYTHON)" $(VENV)
	touch $@

install: $(STAMP) ## Create .venv: pinned packages, the helpers package, the ml-marketing Jupyter kernel

# The tools that only test and check the course (requirements-dev.lock): not needed to run the lessons.
DEV_STAMP := $(VENV)/.dev-installed
$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements.lock -r requirements-dev.lock
	touch $@

install-dev: $(DEV_STAMP) ## Also install the test and check tools: pytest, nbval, coverage, ruff, mypy, numpydoc, selenium

data/.generated: $(STAMP) $(wildcard src/helpers/synth/*.py) src/helpers/planted.py src/helpers/world.py data/MANIFEST.sha256
	$(BIN)/python -m helpers.synth --seed $(SEED) --customers $(CUSTOMERS) --out data --check data/MANIFEST.sha256
	touch $@

data: data/.generated ## Generate the course world into data/ (checked against data/MANIFEST.sha256)

course: $(STAMP) data ## Run the whole course (DATA=dir runs it on your own CSVs into runs/<dir name>/; JOBS=1 one lesson at a time)
ifeq ($(DATA),data)
	$(BIN)/python -m helpers.run --refresh --out runs/course --jobs $(JOBS)
else
	$(BIN)/python -m helpers.run --data-dir "$(DATA)" --out "runs/$(notdir $(abspath $(DATA)))" --jobs $(JOBS)
endif

check-data: $(STAMP) ## Check a folder of your own CSVs (and its mapping.yml) as the lessons will read it: make check-data DATA=dir
	$(BIN)/python -m helpers.io "$(DATA)"

LINTED := src tests tools benchmarks notebooks

lint: $(DEV_STAMP) ## Ruff (rules and formatting) over the package, tests, tools, benchmarks and notebooks
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

format: $(DEV_STAMP) ## Format the code and notebooks with ruff, then fix what ruff can fix
	$(BIN)/ruff format $(LINTED)
	$(BIN)/ruff check --fix $(LINTED)

types: $(DEV_STAMP) ## Type-check the helpers package with mypy (configuration in pyproject.toml)
	$(BIN)/mypy

check: $(DEV_STAMP) data lint types ## The fast loop while editing: lint, types, unit tests and doctests (no notebooks)
	$(BIN)/python -m pytest tests src/helpers --doctest-modules -q \
	  --deselect tests/test_notebooks.py::test_make_course_reproduces_every_committed_notebook \
	  -k "not spark and not site and not benchmarks"

test: $(DEV_STAMP) data lint types browser spark ## Run every test with coverage; re-derive every committed output as is and in a second numeric configuration
	$(BIN)/python -m pytest tests src/helpers notebooks --doctest-modules --nbval --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout 600 --rederive-alternate \
	  --cov=helpers --cov-report=term:skip-covered --cov-fail-under=90

PYTHONS ?= python3.11 python3.12 python3.13
test-pythons: ## Re-derive the course with each Python of PYTHONS (own .venv-3.X each); every one must match
	bash tools/test_pythons.sh $(PYTHONS)

browser: ## Install headless Chromium and ChromeDriver for the course-site test (Debian/Ubuntu, when allowed)
	bash tools/ensure_chromium.sh

SPARK_STAMP := $(VENV)/.spark-installed
$(SPARK_STAMP): $(STAMP) requirements-spark.lock tools/ensure_java.sh
	bash tools/ensure_java.sh
	$(BIN)/uv pip install --quiet --python $(BIN)/python -r requirements-spark.lock
	touch $@

spark: $(SPARK_STAMP) ## Install pyspark and Java 17 for the scale-out steps and their tests (docs/scale-out.md)

bench: $(DEV_STAMP) data ## Benchmarks at scale (SIZES="10000 100000 1000000"); results in benchmarks/results/
	$(BIN)/python benchmarks/run.py $(if $(SIZES),--sizes $(SIZES))
	$(BIN)/python benchmarks/baskets.py
	$(BIN)/python benchmarks/pymc_models.py

html: $(STAMP) ## Render the committed notebooks as a static site in site/
	$(BIN)/python tools/build_site.py site

jupyter: $(STAMP) data ## Open JupyterLab on the notebooks with the course kernel
	$(BIN)/jupyter lab notebooks

lock: ## Recompile requirements.lock, requirements-dev.lock and requirements-spark.lock from their .in files (needs the package index)
	$(BIN)/uv pip compile requirements.in --universal --python-version 3.11 --no-header -o requirements.lock
	$(BIN)/uv pip compile requirements-dev.in -c requirements.lock --universal --python-version 3.11 --no-header \
	  -o requirements-dev.lock
	$(BIN)/uv pip compile requirements-spark.in -c requirements.lock --universal --python-version 3.11 --no-header \
	  -o requirements-spark.lock

clean: ## Remove generated data, runs and caches (keeps .venv)
	rm -rf runs site .cache data/.generated $(WORLD)

distclean: clean ## Also remove .venv (and the .venv-3.X of make test-pythons)
	rm -rf $(VENV) .venv-3.*

.PHONY: help install install-dev data course check-data lint format types check test test-pythons browser spark bench html jupyter lock clean distclean

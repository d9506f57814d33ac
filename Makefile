# incident-svc: every task a developer or CI runs. `make demo` and `make test` work on a fresh
# machine with only Python 3.11+: they create .venv and install what they need first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test test-quick test-sqlite test-postgres lint format bench migrations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,dev,bench]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install the package with the test, dev and bench extras

demo: install  ## run the whole story on SQLite and the development mail sink
	$(BIN)/incident-svc demo

test: install  ## run the whole suite (INCIDENT_SVC_TEST_DB=postgres for PostgreSQL)
	$(BIN)/pytest $(PYTEST_ARGS)

test-quick: install  ## the suite without the tests marked slow: the edit loop (make test and CI run all)
	$(BIN)/pytest -m "not slow" $(PYTEST_ARGS)

test-sqlite: install
	INCIDENT_SVC_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)

test-postgres: install
	INCIDENT_SVC_TEST_DB=postgres $(BIN)/pytest $(PYTEST_ARGS)

lint: install  ## ruff (lint and format) and mypy --strict on the package
	$(BIN)/ruff check incident_svc tests bench
	$(BIN)/ruff format --check incident_svc tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix incident_svc tests bench
	$(BIN)/ruff format incident_svc tests bench

bench: install  ## long benchmarks; each prints ratios against a baseline run in the same process
	$(BIN)/python -m bench $(BENCH_ARGS)

migrations: install  ## after changing incident_svc/models.py: write the next migration
	$(BIN)/tortoise makemigrations

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache build dist

# The few verbs people type. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres lint fmt typecheck bench seed clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Install into .venv and run Perezvon on SQLite (http://127.0.0.1:8000/docs).
run: $(STAMP)
	$(BIN)/perezvon run

## Install the dev tools and run the tests (SQLite; PostgreSQL too when PEREZVON_TEST_DATABASE_URL is set).
test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: $(STAMP)
	$(BIN)/perezvon demo seed --contacts 10000

bench: $(STAMP)
	$(BIN)/python bench/lookup.py --db sqlite --sizes 100000

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The few verbs people type. `make run` and `make test` work on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
# `make run` and `make test` started side by side share one install: flock serializes it
# (where util-linux is missing, e.g. macOS, the steps run unlocked).
LOCK := $(shell command -v flock >/dev/null 2>&1 && echo flock $(VENV).lock)

.PHONY: install run test test-sqlite test-postgres lint fmt typecheck bench seed clean

# $(1): stamp file, $(2): what to pip install. Under the lock, each step checks again
# whether it is still needed, so the second of two concurrent makes finds it done.
define install_into_venv
	$(LOCK) sh -c '[ -x $(BIN)/python ] || { $(PYTHON) -m venv $(VENV) && \
	  $(BIN)/python -m pip install --quiet --upgrade pip; }; \
	  [ $(1) -nt pyproject.toml ] || { $(BIN)/pip install --quiet -e "$(2)" && touch $(1); }'
endef

# The app alone (what `make run` needs): no dev tools.
$(RUN_STAMP): pyproject.toml
	$(call install_into_venv,$(RUN_STAMP),.)

# The app and the dev tools (tests, linters).
$(STAMP): pyproject.toml
	$(call install_into_venv,$(STAMP),.[dev])
	@touch $(RUN_STAMP)

install: $(STAMP)

## Install into .venv and run Perezvon on SQLite (http://127.0.0.1:8000/docs).
run: $(RUN_STAMP)
	$(BIN)/perezvon run

## Install the dev tools and run the tests (SQLite; PostgreSQL too when PEREZVON_TEST_DATABASE_URL is set),
## on TEST_WORKERS processes (pytest-xdist; each gets its own PostgreSQL database beside the configured one).
TEST_WORKERS ?= 2
test: $(STAMP)
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

seed: $(RUN_STAMP)
	$(BIN)/perezvon demo seed --contacts 10000

bench: $(STAMP)
	$(BIN)/python bench/lookup.py --db sqlite --sizes 100000

clean:
	rm -rf $(VENV) $(VENV).lock .mypy_cache .ruff_cache .pytest_cache

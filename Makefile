# Egide — the two commands: `make run` (install and start), `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HASH   := $(shell cat pyproject.toml | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-run-$(HASH)
DEV    := $(VENV)/.installed-dev-$(HASH)

.PHONY: run test test-sqlite test-postgres test-slow install install-dev lint bench bench-smoke clean

# The runtime only (make run); the test tools on top (make test).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	rm -f $(VENV)/.installed-run-* && touch $(STAMP)

$(DEV): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	rm -f $(VENV)/.installed-dev-* && touch $(DEV)

install: $(STAMP)

install-dev: $(DEV)

PORT ?= 8200

## Install, migrate, create the admin account and an API token, serve on 127.0.0.1:$(PORT).
## The bootstrap token is reused while valid; a busy port stops this before anything is minted.
## The rotation scheduler (manage.py kms_scheduler: rotation, purge, approval expiry) runs beside
## the server, every $(SCHEDULER_INTERVAL) s; Ctrl-C (or the server stopping) stops both.
SCHEDULER_INTERVAL ?= 60
run: $(STAMP)
	EGIDE_DEV=1 $(BIN)/python manage.py migrate --no-input
	EGIDE_DEV=1 $(BIN)/python manage.py egide_bootstrap --port $(PORT)
	@EGIDE_DEV=1 $(BIN)/python manage.py kms_scheduler --interval $(SCHEDULER_INTERVAL) & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM HUP; \
	echo "rotation scheduler started (pid $$scheduler, every $(SCHEDULER_INTERVAL) s)"; \
	EGIDE_DEV=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

## The whole suite: SQLite, then PostgreSQL when reachable (required when REQUIRE_POSTGRES=1).
test: $(DEV)
	$(BIN)/python scripts/run_tests.py

test-sqlite: $(DEV)
	$(BIN)/python scripts/run_tests.py --only sqlite

test-postgres: $(DEV)
	$(BIN)/python scripts/run_tests.py --only postgres

## Long load and fault tests (not part of `make test`).
test-slow: $(DEV)
	$(BIN)/python scripts/run_tests.py --slow

## Egide against OpenBao, side by side (docs/benchmarks.md); bench-smoke: seconds, for CI.
bench: $(DEV)
	bench/run.sh

bench-smoke: $(DEV)
	bench/run.sh --smoke

## Lint and types, as .ci/run runs them: ruff (rules and format) over the tree, mypy on the
## typed core (kms/crypto, kms/rules.py, kms/dataplane; see [tool.mypy] in pyproject.toml).
lint: $(DEV)
	$(BIN)/ruff check kms egide_site egide tests bench scripts
	$(BIN)/ruff format --check kms egide_site egide tests bench scripts
	EGIDE_DEV=1 $(BIN)/mypy

clean:
	rm -rf $(VENV) var .pytest_cache

# `make run` and `make test` do everything on a fresh machine with Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := marketplace.cli:create_app
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test test-sqlite test-postgres migrate seed clean-db e2e bench translations compile-translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed compile-translations

# Catalogues: `make translations` extracts every message and updates ru, kk, ky, en;
# the compiled .mo files are built on install (they are not committed).
LOCALES := ru kk ky en
TRANSLATIONS := marketplace/translations
BABEL_KEYWORDS := -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2

translations: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --sort-output -o $(TRANSLATIONS)/messages.pot . >/dev/null
	@for l in $(LOCALES); do \
		if [ -f $(TRANSLATIONS)/$$l/LC_MESSAGES/messages.po ]; then \
			$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$l --no-fuzzy-matching --ignore-obsolete >/dev/null; \
		else \
			$(BIN)/pybabel init -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) -l $$l >/dev/null; \
		fi; \
	done
	$(BIN)/python scripts/fill-english-catalogue.py $(TRANSLATIONS)/en/LC_MESSAGES/messages.po

compile-translations: $(VENV)/.installed
	@if ls $(TRANSLATIONS)/*/LC_MESSAGES/messages.po >/dev/null 2>&1; then \
		$(BIN)/pybabel compile -d $(TRANSLATIONS) --statistics 2>&1 | tail -n 4; \
	fi
	@# WTForms' own messages for the languages WTForms ships none of (web.security.FormTranslations).
	@$(BIN)/pybabel compile -D wtforms -d $(TRANSLATIONS) 2>&1 | grep -v '^compiling' || true

migrate: install
	$(BIN)/flask db upgrade
	$(BIN)/flask reindex-search --if-changed

seed: migrate
	$(BIN)/flask seed-demo

run: seed
	HOST=$(HOST) PORT=$(PORT) scripts/run-dev

test: install
	@echo "== Import contract (layers of docs/architecture.md) =="
	$(BIN)/lint-imports --no-cache
	@echo "== Test suite on SQLite =="
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -q $(PYTEST_ARGS)
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== Test suite on PostgreSQL ($$TEST_DATABASE_URL) =="; \
		$(BIN)/python -m pytest -q $(PYTEST_ARGS); \
	else \
		echo "== TEST_DATABASE_URL not set: PostgreSQL run skipped =="; \
	fi

# Only the browser journeys (tests/e2e), on SQLite; screenshots in test-artifacts/screenshots.
e2e: install
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest tests/e2e $(PYTEST_ARGS)

clean-db:
	rm -f instance/aimak.sqlite instance/aimak.sqlite-wal instance/aimak.sqlite-shm instance/localstripe/state.pickle

# The load benchmark, short: SQLite (or BENCH_DATABASE_URL), data set at BENCH_SCALE,
# BENCH_DURATION seconds per page, BENCH_ROUNDS rounds of anchor/page pairs (medians);
# prints every page's share of the external anchor (bench/README.md, docs/performance.md).
BENCH_SCALE ?= 0.1
BENCH_DURATION ?= 3
BENCH_ROUNDS ?= 3
bench: install
	@command -v wrk >/dev/null 2>&1 || { echo "bench needs wrk: sudo apt-get install -y wrk (Debian/Ubuntu)"; exit 1; }
	$(BIN)/python bench/run.py --generate --scale $(BENCH_SCALE) --duration $(BENCH_DURATION) --rounds $(BENCH_ROUNDS) \
		$(if $(BENCH_DATABASE_URL),--database-url $(BENCH_DATABASE_URL),)

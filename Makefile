# Tilsvar: `make demo` runs the product, `make test` proves it. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: install demo serve test check messages test-sqlite test-postgresql chromium postgres dovecot weasyprint bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $$($(BIN)/python -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['tool']['tilsvar']['no-deps']))")
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/tilsvar demo --port $(PORT)

serve: install
	$(BIN)/tilsvar serve --port $(PORT)

check: install
	$(BIN)/ruff check src tests bench training
	$(BIN)/ruff format --check src tests bench training
	$(BIN)/mypy

# Bring the web UI's translation catalogs up to date with the templates, then show what is missing.
messages: install
	$(BIN)/tilsvar i18n update
	$(BIN)/tilsvar i18n check

chromium:
	scripts/ensure-chromium.sh

postgres:
	scripts/ensure-postgres.sh

dovecot:
	scripts/ensure-dovecot.sh

weasyprint:
	scripts/ensure-weasyprint.sh

test-sqlite: install chromium dovecot weasyprint
	TILSVAR_TEST_DATABASE=sqlite $(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

test-postgresql: install postgres dovecot weasyprint
	TILSVAR_TEST_DATABASE=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) -p no:cacheprovider -m "not browser"

test: check test-sqlite test-postgresql

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache

# Ringround: `make run` (set up and serve on SQLite) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n auto --dist loadgroup

.PHONY: run test setup setup-test system-deps lint migrate messages catalogues compile-catalogues clean

run: setup migrate compile-catalogues
	HOST=$(HOST) $(BIN)/honcho start -f Procfile.dev --port $(PORT)

test: setup-test system-deps lint compile-catalogues
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed node_modules/.installed

setup-test: $(VENV)/.installed-test node_modules/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

system-deps:
	bash scripts/install-system-deps.sh

migrate: setup
	$(BIN)/flask --app wsgi db upgrade

lint: setup-test
	$(BIN)/ruff check .

messages: setup
	mkdir -p translations
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -o translations/messages.pot --ignore-dirs='.venv node_modules' .

# Translations: the .po files are kept in git, the .mo files are built (docs/languages.md).
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)

# The .mo files Flask-Babel reads, built from the .po files (none yet: nothing to build).
compile-catalogues: setup
ifneq ($(CATALOGUES),)
	$(BIN)/pybabel compile --statistics -d translations
endif

# Every catalogue brought up to today's strings (no guessed "fuzzy" matches), then built.
catalogues: messages
ifneq ($(CATALOGUES),)
	$(BIN)/pybabel update --no-fuzzy-matching -i translations/messages.pot -d translations
	$(BIN)/pybabel compile --statistics -d translations
endif

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache
	find translations -name '*.mo' -delete 2>/dev/null || true

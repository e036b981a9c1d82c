# Ringround: `make run` (set up and serve on SQLite) and `make test` (set up and run every test).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?= -n auto --dist loadgroup

.PHONY: run test setup setup-test system-deps lint migrate messages clean

run: setup migrate
	HOST=$(HOST) $(BIN)/honcho start -f Procfile.dev --port $(PORT)

test: setup-test system-deps lint
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

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache

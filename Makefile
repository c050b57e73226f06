# The two set-up commands: `make run` serves the product, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app mediation
PORT ?= 5000

.PHONY: run test lint typecheck pytest install instance bench clean browser-deps proxy-deps bandit audit load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

instance: install
	$(BIN)/python -m mediation.instance_setup

run: instance
	$(FLASK) db upgrade
	DEMO_MODE=1 $(FLASK) demo load --if-empty
	DEMO_MODE=1 $(FLASK) run --host 127.0.0.1 --port $(PORT)

lint: install
	$(BIN)/ruff check mediation tests bench migrations deploy
	$(BIN)/ruff format --check mediation tests bench migrations deploy

typecheck: install
	$(BIN)/mypy mediation

# The browser suite drives Debian's Chromium (Playwright's own browser download does not
# work here) and checks every page with axe-core, fetched from npm into .cache/axe.
browser-deps: install
	@if [ ! -x /usr/bin/chromium ]; then apt-get update && apt-get install -y chromium; fi
	$(BIN)/python -m tests.browser.axe

# The production set-up's reverse proxy (deploy/nginx.conf), which the production, hostile
# client and load tests start: Debian's nginx, installed when missing.
proxy-deps:
	@if [ ! -x /usr/sbin/nginx ]; then apt-get update && apt-get install -y nginx; fi

pytest: install browser-deps proxy-deps
	$(BIN)/python -m pytest

# Medium and high findings fail; the low ones are asserts that narrow types for mypy and
# names of settings mistaken for passwords (ruff's S rules cover the rest in lint).
bandit: install
	$(BIN)/bandit -q -r mediation --severity-level medium
	@echo "bandit: no medium or high severity finding in mediation/"

# Fails on a known vulnerability; says so plainly when no vulnerability service answers.
audit: install
	$(BIN)/python -m tests.dependency_audit

test: lint typecheck bandit audit pytest

bench: install
	$(BIN)/python bench/run.py

# A scripted mix of traffic against gunicorn behind nginx on PostgreSQL (not part of make test).
load: install proxy-deps
	$(BIN)/python bench/load.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

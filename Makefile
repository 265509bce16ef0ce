# Kinerja Lab: two commands do all the set-up on a machine with only Python 3.11+.
#   make demo   run the default experiment and write its briefing; prints the HTML's path
#   make test   run the whole test suite
#   make lab    JupyterLab with the project installed (notebooks/); LAB_ARGS=--no-browser etc.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

DEMO_LANG ?= id
LAB_ARGS  ?=

.PHONY: demo test lint bench bench-check lab clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/simlib report --lang $(DEMO_LANG)

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check simlib tests benchmarks
	$(BIN)/ruff format --check simlib tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/engine.py
	$(BIN)/python benchmarks/ratings.py
	$(BIN)/python benchmarks/services.py
	$(BIN)/python benchmarks/sweep.py
	$(BIN)/python benchmarks/calibrate.py

# Every benchmark with --check: each prints its targets (met/MISSED) and exits 1 on a miss;
# all of them run, and the target fails at the end if any missed.
bench-check: $(STAMP)
	@status=0; for b in engine ratings services sweep calibrate; do \
	  $(BIN)/python benchmarks/$$b.py --check || { echo "bench-check: $$b.py missed a target"; status=1; }; \
	done; exit $$status

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_ARGS)

clean:
	rm -rf $(VENV) reports/demo .pytest_cache

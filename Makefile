# Kinerja Lab: two commands do all the set-up on a machine with only Python 3.11+.
#   make demo   run the default scenario and say where the results are
#   make test   run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/simlib run --out reports/demo

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

clean:
	rm -rf $(VENV) reports/demo .pytest_cache

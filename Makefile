# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: demo test install inputs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(TEST_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/planner validate inputs/example.xlsx
	$(BIN)/planner solve inputs/example.xlsx -o outputs/example-plan.xlsx
	$(BIN)/planner stress outputs/example-plan.xlsx --scenario china-ban-2027-2029 -o outputs/example-stress.xlsx

test: $(TEST_STAMP)
	$(BIN)/python -m pytest -q

# Regenerate the committed workbooks (a test checks they match what the commands write).
inputs: $(STAMP)
	$(BIN)/planner template inputs/template.xlsx --force
	$(BIN)/planner example inputs/example.xlsx --force

# Benchmarks (benchmarks/README.md): S and M in a couple of minutes; everything in ~12 min.
.PHONY: bench bench-all
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py S M
bench-all: $(STAMP)
	$(BIN)/python benchmarks/run.py S M L XL CFL --lp S M L XL CFL --extras read write threads

clean:
	rm -rf $(VENV) outputs/*.xlsx .pytest_cache

# Two commands: `make demo` and `make test`. Both create .venv with the pinned stack when it is
# missing (or when setup.cfg changed) and then run.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all clean-venv

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m kerasjet.rtl.trace  # compiles da4ml's solver into its numba cache (about 2 min, once)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kerasjet demo

# fast default suite; `make test-all` adds the tests marked slow
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" --durations=15

test-all: $(STAMP)
	$(BIN)/python -m pytest

clean-venv:
	rm -rf $(VENV)

# Two commands: `make demo` and `make test`. Both create .venv with the pinned stack when it is
# missing (or when setup.cfg changed) and then run. `make docs` builds the documentation site.
# The venv gets kerasjet[all]; `pip install kerasjet` alone is the core (no generator, no RTL tools).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-all docs clean-venv

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'  # every extra: dev, docs, generate, rtl
	$(BIN)/python -m kerasjet.rtl.trace  # compiles da4ml's solver into its numba cache (about 2 min, once)
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kerasjet demo

# fast default suite; `make test-all` adds the tests marked slow
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" --durations=15

test-all: $(STAMP)
	$(BIN)/python -m pytest

# the documentation site, warnings as errors: docs/_build/html/index.html
docs: $(STAMP)
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

clean-venv:
	rm -rf $(VENV)

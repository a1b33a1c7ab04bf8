# Descent Lab: `make run` serves the app, `make test` runs every check. Both install what they need.
VENV   ?= .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PORT   ?= 8501

.PHONY: run test lint bench clean

$(STAMP): requirements.txt requirements-test.txt
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-test.txt
	touch $(STAMP)

run: $(STAMP)
	$(PYTHON) serve.py --server.port $(PORT) --server.headless true

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PYTHON) -m pytest -q

bench: $(STAMP)
	$(PYTHON) -m pip install --quiet -r bench/requirements.txt
	$(PYTHON) -m bench.run
	$(PYTHON) -m bench.app
	$(PYTHON) -m bench.exports

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis

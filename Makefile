# OCR service: `make run` serves, `make test` tests. `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test test-fast bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg deploy/requirements.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) deploy/requirements.py test > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $(STAMP)

install: $(STAMP) ## Create .venv with every pinned dependency

run: install ## Serve on 127.0.0.1:8000 with real gunicorn (models loaded and warmed per worker)
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py wsgi:app

test: install ## Run the whole test suite (real engine, real servers)
	$(PY) -m pytest

test-fast: install ## Run the tests that need no server processes
	$(PY) -m pytest -m "not slow"

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache

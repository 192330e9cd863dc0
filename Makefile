# OCR service: `make run` serves, `make test` tests. `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Extras of setup.cfg installed beside the pinned requirements; the container image
# builds with EXTRAS= (no test tools).
EXTRAS ?= test

.DEFAULT_GOAL := help
# Debian packages that tests drive for real; one list, installed only when missing.
SYSTEM_PACKAGES := chromium chromium-driver nginx gettext-base tesseract-ocr tesseract-ocr-eng \
	tesseract-ocr-chi-sim tesseract-ocr-osd
# What the benchmarks' generated sets are made from (tests/bench/dev_sets.py): CJK fonts,
# real Chinese text, and OpenCC to write it in traditional characters.
BENCH_PACKAGES := fonts-noto-cjk fonts-wqy-zenhei fonts-wqy-microhei fortunes-zh opencc
PACKAGES ?= $(SYSTEM_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help install system-deps bench-deps models official-models run test test-fast clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg deploy/requirements.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) deploy/requirements.py $(EXTRAS) > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $(STAMP)

install: $(STAMP) ## Create .venv with every pinned dependency

models: install ## Build the embedded model directories (ONNX + inference.yml) in OCR_MODEL_CACHE_DIR
	$(PY) -c 'from app.config import Config; from app.recognition.models import prepare_embedded_models; prepare_embedded_models(Config.MODEL_CACHE_DIR)'

# Downloads, so only for an image build with network (deploy/Dockerfile build args).
official-models: install ## Fetch the official PaddleOCR models named by OCR_DET_MODEL_NAME, OCR_REC_MODEL_NAME
	$(PY) -c 'import sys; from paddlex.inference.utils.official_models import official_models; [print(official_models[name]) for name in sys.argv[1:]]' $(OCR_DET_MODEL_NAME) $(OCR_REC_MODEL_NAME)

system-deps: ## Install the Debian packages the tests drive (only those missing)
	@missing=""; for package in $(PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	if [ -n "$$missing" ]; then \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The peer engines go each into its own folder under var/peers (setup.cfg, extra "bench").
bench-deps: install ## Install the benchmarks' peer engines and the Debian packages their sets need
	@$(MAKE) --no-print-directory system-deps PACKAGES="$(SYSTEM_PACKAGES) $(BENCH_PACKAGES)"
	$(PY) -m tests.bench.peers --install

run: install ## Serve on 127.0.0.1:8000 with real gunicorn (models loaded and warmed per worker)
	$(VENV)/bin/gunicorn -c deploy/gunicorn.conf.py wsgi:app

test: install system-deps bench-deps ## Run the whole test suite (real engine, real servers)
	$(PY) -m pytest

test-fast: install ## Run the tests that need no server processes
	$(PY) -m pytest -m "not slow"

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache

# OCR service: `make run` serves, `make test` tests. `make help` lists every target.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# Extras of setup.cfg installed beside the pinned requirements; the container image
# builds with EXTRAS= (no test tools).
EXTRAS ?= test
# A folder of wheels to install from instead of the package index (the image build,
# an air-gapped site): `make wheelhouse` fills build/wheelhouse where the index is reachable.
WHEELHOUSE ?=
PIP_SOURCE := $(if $(WHEELHOUSE),--no-index --find-links $(WHEELHOUSE))

.DEFAULT_GOAL := help
# Debian packages that tests drive for real; one list, installed only when missing.
# fonts-wqy-microhei: the CJK font the PDF tests write Chinese text with (tests/pdf_documents.py).
SYSTEM_PACKAGES := chromium chromium-driver nginx gettext-base tesseract-ocr tesseract-ocr-eng \
	tesseract-ocr-chi-sim tesseract-ocr-osd fonts-wqy-microhei podman runc mmdebstrap
# What the benchmarks' generated sets are made from (tests/bench/dev_sets.py): CJK fonts,
# real Chinese text, and OpenCC to write it in traditional characters.
BENCH_PACKAGES := fonts-noto-cjk fonts-wqy-zenhei fonts-wqy-microhei fortunes-zh opencc
PACKAGES ?= $(SYSTEM_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# --- Container image ---------------------------------------------------------
# Podman as these machines run it: runc (the default runtime fails on their cgroups)
# and deploy/containers.conf (no default ulimits: podman's exceed the hard limits).
# Docker format keeps the HEALTHCHECK (OCI images have none). With Docker:
#   make image CONTAINER=docker CONTAINER_BUILD_FLAGS=
CONTAINER ?= CONTAINERS_CONF=$(CURDIR)/deploy/containers.conf podman --runtime runc
CONTAINER_BUILD_FLAGS ?= --isolation=chroot --format docker
IMAGE ?= ocr-service
# The Dockerfile's FROM; `make base-image` makes it from Debian's packages.
BASE_IMAGE := docker.io/library/debian:bookworm-slim
WHEELHOUSE_DIR := build/wheelhouse
# The image's Python is Debian 12's CPython 3.11 on x86_64 (glibc 2.36): wheels for
# any manylinux tag up to glibc 2.36.
IMAGE_PLATFORMS := $(foreach minor,$(shell seq 36 -1 5),--platform manylinux_2_$(minor)_x86_64) \
	--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64

.PHONY: help install system-deps bench-deps models official-models run test test-fast clean wheelhouse base-image image

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): setup.cfg deploy/requirements.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade $(PIP_SOURCE) pip
	$(PY) deploy/requirements.py $(EXTRAS) > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet $(PIP_SOURCE) -r $(VENV)/requirements.txt
	touch $(STAMP)

install: $(STAMP) ## Create .venv with every pinned dependency

models: install ## Build the embedded model directories (ONNX + inference.yml, line classifier) in OCR_MODEL_CACHE_DIR
	$(PY) -c 'from app.config import Config; from app.recognition.models import TEXTLINE_ORIENTATION, prepare_embedded_models, verified_model_path; prepare_embedded_models(Config.MODEL_CACHE_DIR); verified_model_path(TEXTLINE_ORIENTATION, Config.MODEL_CACHE_DIR)'

# Downloads, so only for an image build with network (deploy/Dockerfile build args).
official-models: install ## Fetch the official PaddleOCR models named by OCR_DET_MODEL_NAME, OCR_REC_MODEL_NAME
	@[ -n "$(OCR_DET_MODEL_NAME)$(OCR_REC_MODEL_NAME)" ] || { echo "make official-models: no model named;" \
		"set OCR_DET_MODEL_NAME and/or OCR_REC_MODEL_NAME (e.g. PP-OCRv5_server_det)" >&2; exit 2; }
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

$(WHEELHOUSE_DIR)/requirements.txt: setup.cfg deploy/requirements.py
	mkdir -p $(WHEELHOUSE_DIR)
	$(PYTHON) deploy/requirements.py > $@.new
	$(PYTHON) -m pip download --quiet --only-binary=:all: --dest $(WHEELHOUSE_DIR) \
		--python-version 3.11 --implementation cp --abi cp311 $(IMAGE_PLATFORMS) pip -r $@.new
	mv $@.new $@

wheelhouse: $(WHEELHOUSE_DIR)/requirements.txt ## Download the wheels the image installs (pinned, no test extra) into build/wheelhouse

base-image: ## Make the image's base (Debian 12 minbase) with mmdebstrap, unless the engine has it
	$(CONTAINER) image inspect $(BASE_IMAGE) >/dev/null 2>&1 || { \
		mkdir -p build && mmdebstrap --quiet --variant=minbase bookworm build/debian-bookworm.tar \
		&& $(CONTAINER) import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'CMD ["bash"]' build/debian-bookworm.tar $(BASE_IMAGE) \
		&& rm build/debian-bookworm.tar; }

image: wheelhouse base-image ## Build the container image (ocr-service) from deploy/Dockerfile without registry or index
	$(CONTAINER) build $(CONTAINER_BUILD_FLAGS) --pull=never -f deploy/Dockerfile -t $(IMAGE) .

clean: ## Remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache

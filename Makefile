# The named tasks of the book. Each is a line or two; the README explains them.
#   make book     set up (venv, packages, vendored JavaScript) and build the website into _build/html
#   make test     the same set-up plus Chromium, then every test (package, notebooks, site, browser)
#   make execute  re-execute every notebook in place (authors, after changing one)
#   make bench    run the speed benchmarks (not part of the tests)
#   make lock     re-pin requirements-lock.txt from a fresh resolution of requirements.txt
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Readers elsewhere who want a CPU-only torch from PyTorch's own index can set, for example,
# PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu".
PIP_EXTRA ?=
JB_FLAGS := -W -n --keep-going

.PHONY: setup book test execute bench lock browser clean

setup: $(VENV)/.installed vendor/widgets/.complete

$(VENV)/.installed: requirements.txt requirements-lock.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet $(PIP_EXTRA) -r requirements.txt -c requirements-lock.txt
	touch $@

vendor/widgets/.complete: tools/vendor_assets.py
	$(PY) tools/vendor_assets.py vendor/widgets && touch $@

book: setup
	rm -rf _build/.doctrees
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)

browser:
	@command -v chromium >/dev/null || { echo "installing Debian's chromium for the browser test"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium >/dev/null; }

test: setup browser
	$(PY) -m pytest tests book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

execute: setup
	$(PY) tools/execute_notebooks.py
	$(PY) tools/check_ledger.py

bench: setup
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

lock:
	rm -rf /tmp/trainwell-lock && $(PYTHON) -m venv /tmp/trainwell-lock
	/tmp/trainwell-lock/bin/pip install --quiet --upgrade "pip>=24"
	/tmp/trainwell-lock/bin/pip install --quiet $(PIP_EXTRA) -r requirements.txt "torch==2.13.0+cpu"
	{ sed -n 1,2p requirements-lock.txt; /tmp/trainwell-lock/bin/pip freeze --exclude-editable | grep -v "^-e "; } > requirements-lock.tmp && mv requirements-lock.tmp requirements-lock.txt

clean:
	rm -rf _build

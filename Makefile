# The named tasks of the book. Each is a line or two; the README explains them.
#   make book     set up (venv, packages, vendored JavaScript) and build the website into _build/html
#   make test     the same set-up plus Chromium, then every test (package, notebooks, site, browser)
#   make pdf      Chromium, the website, then the whole book as one PDF printed from it, checked
#   make execute  re-execute every notebook in place (authors, after changing one)
#   make bench    run the speed benchmarks (not part of the tests)
#   make lock     re-pin requirements-lock.txt from a fresh resolution of requirements.txt
#   make lab      set up, then start JupyterLab on the book's notebooks
#   make compat   an environment like Colab's (compat/colab/: torch 2.11, IPython 7.34, ipywidgets
#                 7.7.1, ...) in .venv-compat, then the unit tests and every notebook's checks in it
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Readers elsewhere who want a CPU-only torch from PyTorch's own index can set, for example,
# PIP_EXTRA="--extra-index-url https://download.pytorch.org/whl/cpu".
PIP_EXTRA ?=
JB_FLAGS := -W -n --keep-going

COMPAT_VENV ?= .venv-compat
CPY := $(COMPAT_VENV)/bin/python

.PHONY: setup site book test execute bench lock browser clean lab compat pdf

setup: $(VENV)/.installed vendor/widgets/.complete

$(VENV)/.installed: requirements.txt requirements-lock.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip>=24"
	$(PY) -m pip install --quiet $(PIP_EXTRA) -r requirements.txt -c requirements-lock.txt
	touch $@

vendor/widgets/.complete: tools/vendor_assets.py
	$(PY) tools/vendor_assets.py vendor/widgets && touch $@

site: setup
	rm -rf _build/.doctrees
	$(VENV)/bin/jupyter-book build . $(JB_FLAGS)

# The website, and the whole book as one PDF beside it (every page's sidebar links it) where Chromium
# is installed; `make pdf` installs Chromium first.
book: site
	@if command -v chromium >/dev/null; then $(PY) tools/print_book.py --check; else \
	  echo "Chromium not found: the website is built but not its PDF; make pdf installs Chromium and prints it"; fi

# Debian's chromium for the browser tests and the PDF, and a Chinese font for the glossary's terms
browser:
	@command -v chromium >/dev/null && [ -n "$$(fc-list :lang=zh 2>/dev/null)" ] || { \
	  echo "installing Debian's chromium and fonts-wqy-microhei"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq \
	    chromium fonts-wqy-microhei >/dev/null; }

test: setup browser
	$(PY) -m pytest tests book --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg

pdf: browser site
	$(PY) tools/print_book.py --check

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

lab: setup
	$(VENV)/bin/jupyter lab book/ $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

# Colab's versions of everything the package and its tests use, pinned from Colab's published freeze
# (downloads torch 2.11 with its CUDA libraries from PyPI, a few GB). Python is this machine's: Colab's
# 3.13 cannot be installed here. Not part of `make test`.
$(COMPAT_VENV)/.installed: compat/colab/pip-freeze.txt pyproject.toml tools/colab_constraints.py
	test -x $(CPY) || $(PYTHON) -m venv $(COMPAT_VENV)
	$(CPY) -m pip install --quiet --upgrade "pip>=24"
	$(CPY) tools/colab_constraints.py constraints $(COMPAT_VENV)/colab-constraints.txt
	$(CPY) -m pip install --quiet -e . pytest nbval ruff nbformat nbclient ipykernel pyyaml \
	  -c $(COMPAT_VENV)/colab-constraints.txt
	touch $@

compat: $(COMPAT_VENV)/.installed
	$(CPY) -m pip list 2>/dev/null | grep -iE "^(torch|numpy|scipy|matplotlib|scikit-learn|mlxtend|ipython|ipywidgets|traitlets|ipykernel) "
	$(CPY) -m pytest tests -m "not site and not reader_env" -p no:cacheprovider
	$(CPY) tools/robustness.py --as-stored book/*/*.ipynb --output-dir _build/compat

clean:
	rm -rf _build

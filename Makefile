# kanlab: two commands for students and instructors (see README.md).
#   make lab    set up .venv (first time only) and open the course in JupyterLab
#   make test   set up .venv (first time only), then ruff + every unit test + every notebook
# Other targets: make notebooks (re-run all notebooks in place), make bench, make clean, make help.

PYTHON    ?= python3
VENV      ?= .venv
PY        := $(VENV)/bin/python
LOCK      := requirements/lock.txt
STAMP     := $(VENV)/.stamp-install
# Extra pip options for every install.
PIP_ARGS  ?=
# Linux: torch from PyTorch's CPU-only index (~200 MB) instead of PyPI's CUDA build (several GB).
# GPU users: make lab TORCH_INDEX=https://download.pytorch.org/whl/cu126 ; TORCH_INDEX= takes
# PyPI's default build. An index that does not answer is left out (tools/torch_index.py), so pip
# never waits on it.
TORCH_INDEX ?= $(if $(filter Linux,$(shell uname -s)),https://download.pytorch.org/whl/cpu,)
# tools/preflight.sh checks Python's headers (for the optional C kernels) unless CHECK_HEADERS=0.
CHECK_HEADERS ?= 1
# Extra JupyterLab options, e.g. make lab LAB_ARGS="--no-browser --port 8899".
LAB_ARGS  ?=
# Extra Voila options, e.g. make playground VOILA_ARGS="--no-browser --port 8867".
VOILA_ARGS ?=
# Extra pytest options, e.g. make test PYTEST_ARGS="-k bsplines -x".
PYTEST_ARGS ?=
# Notebooks for `make notebooks` (default: all of them).
NB        ?= $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))

# JupyterLab refuses to start as root without --allow-root (containers, CI, Binder-like boxes).
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.DEFAULT_GOAL := help
.PHONY: help preflight install lab playground test notebooks bench clean distclean binder \
        binder-check badges site

help:
	@echo "make lab        install (first time) and open notebooks/00_start_here.ipynb in JupyterLab"
	@echo "make playground open the KAN Playground app alone in the browser (Voila)"
	@echo "make test       install (first time), ruff, then pytest over tests/ and notebooks/ (nbval)"
	@echo "make notebooks  re-execute every notebook in place (fresh kernel, top to bottom)"
	@echo "make bench      install the bench extra (pykan) and run benchmarks/run_all.py"
	@echo "make site       build the course website into build/site (Sphinx + myst-nb, no execution)"
	@echo "make badges REPO=org/name [REF=tag]  point every badge and link at a fork or a course term"
	@echo "make binder     regenerate binder/requirements.txt from the lock (after changing the lock)"
	@echo "make binder-check  build Binder's environment from binder/ in a temp folder, nbval 00 and 02"
	@echo "make clean      remove caches and build output (distclean also removes $(VENV))"

# --- install: a venv, kanlab editable with the lock's exact versions, the python3 kernel ---------
# Stops at once, with the install line, when Python >= 3.11, its venv module, its headers (with a
# C compiler) or graphviz's `dot` is missing.
preflight:
	@tools/preflight.sh "$(if $(wildcard $(PY)),$(PY),$(PYTHON))" $(CHECK_HEADERS)

$(PY): | preflight
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet $(PIP_ARGS) -c $(LOCK) pip

# Re-runs only when pyproject.toml, the lock or the C kernels change (or the venv is new): a second
# `make test` goes straight to testing. Notebooks name the kernel "python3"; the ipykernel
# line makes that name mean this venv's interpreter.
# TORCH_ARGS: "--extra-index-url $(TORCH_INDEX)" when that index answers, else nothing.
TORCH_ARGS = $$($(PY) tools/torch_index.py "$(TORCH_INDEX)")
$(STAMP): pyproject.toml $(LOCK) kanlab/_cbasis.c kanlab/_cbasis_impl.h | $(PY)
	$(PY) -m pip install --quiet $(TORCH_ARGS) $(PIP_ARGS) -c $(LOCK) -e ".[dev,docs]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (ipykernel)"
	@touch $@

install: preflight $(STAMP)

# --- the two commands -------------------------------------------------------------------------
# Served from the repository root (as on Binder), opening notebook 00.
lab: install
	$(VENV)/bin/jupyter lab --ServerApp.root_dir="$(CURDIR)" \
	  --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb $(ROOT_FLAG) $(LAB_ARGS)

# The KAN Playground as a standalone app (Voila shows the notebook's outputs only).
playground: install
	$(VENV)/bin/voila notebooks/playground.ipynb $(VOILA_ARGS)

# Lint first, but a lint failure does not hide the test results: both run, either fails the target,
# and pytest's summary line is the last thing printed.
test: install
	@echo "$(VENV)/bin/ruff check ."; lint=0; $(VENV)/bin/ruff check . || lint=$$?; \
	if [ $$lint -ne 0 ]; then echo "ruff failed: running the tests anyway, make test will fail"; fi; \
	echo "$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env ..."; \
	$(PY) -m pytest tests notebooks --nbval-lax --nbval-current-env --nbval-cell-timeout=300 \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg $(PYTEST_ARGS) || exit $$?; \
	exit $$lint

# --- the course website: the notebooks' committed outputs (not re-run), docs/, the API from
# docstrings; build/site/index.html. tests/test_site.py builds it and opens it in a browser.
SITE ?= build/site
site: install
	$(VENV)/bin/sphinx-build -q -b html -c docs -d build/site-doctrees . $(SITE)
	@echo "site: $(SITE)/index.html"

# --- Binder: binder/requirements.txt comes from the lock; binder-check builds it as repo2docker does
binder: install
	$(PY) tools/binder.py

binder-check:
	tools/binder_check.sh

# --- forks and course terms: every badge and launch link opens REPO at REF ([tool.kanlab]) ------
badges:
	@test -n "$(REPO)$(REF)" || { echo "usage: make badges REPO=org/name [REF=branch-or-tag]"; exit 2; }
	python3 tools/badges.py $(if $(REPO),--repo $(REPO)) $(if $(REF),--ref $(REF))

# --- maintenance ------------------------------------------------------------------------------
# Fresh kernel per notebook, cells in order, widget state stored: execution counts come out 1..n.
notebooks: install
	PYTHONHASHSEED=0 $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.kernel_name=python3 --ExecutePreprocessor.timeout=600 \
	  --ExecutePreprocessor.store_widget_state=True $(NB)

$(VENV)/.stamp-bench: $(STAMP)
	$(PY) -m pip install --quiet $(TORCH_ARGS) $(PIP_ARGS) -c $(LOCK) -e ".[dev,bench]"
	@touch $@

bench: $(VENV)/.stamp-bench
	$(PY) benchmarks/run_all.py

clean:
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) -type d -print \
	  | xargs rm -rf
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist *.egg-info benchmarks/results tests/artifacts

distclean: clean
	rm -rf $(VENV)

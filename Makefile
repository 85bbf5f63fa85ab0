# vitcourse: two commands for users (README), a few more for authors.
#   make lab    set everything up, copy the exercises into my-work/ and open the course in JupyterLab
#   make test   set everything up and run every check (unit tests + every notebook)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
# USE_ACTIVE_ENV=1: install into and run from the active conda or virtual environment instead of .venv.
USE_ACTIVE_ENV ?= 0
ifeq ($(USE_ACTIVE_ENV),1)
ACTIVE_ENV := $(or $(CONDA_PREFIX),$(VIRTUAL_ENV))
ifeq ($(ACTIVE_ENV),)
$(error USE_ACTIVE_ENV=1 but no conda or virtual environment is active: run `conda activate vitcourse` first, or drop USE_ACTIVE_ENV to use .venv)
endif
VENV := $(ACTIVE_ENV)
PYTHON := $(VENV)/bin/python
endif
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
TORCH_BUILD ?= auto
JOBS ?= 2
PYTEST_ARGS ?=
PORT ?= 8888
LAB_FLAGS ?=
FORCE ?= 0

.PHONY: help install lab lab-ko work-copy ko test test-fast execute exercises validate grade vendor slides check-slides site \
	site-instructor pdf benchmarks clean

help:
	@echo "make lab        set up .venv, copy the exercises into my-work/ (once; never overwritten), open JupyterLab"
	@echo "make lab-ko     the same in Korean: exercises/ko into my-work/ko/, JupyterLab on notebooks/ko/00_start_here"
	@echo "make test       set up .venv and run all tests and notebooks (what CI runs)"
	@echo "make test-fast  unit tests only"
	@echo "make install    set up .venv only"
	@echo "make execute NB=notebooks/01_attention.ipynb   re-execute one notebook in place, as CI does"
	@echo "make ko         rebuild the Korean edition (notebooks/ko, solutions/ko, exercises/ko) from i18n/ko and execute it"
	@echo "make exercises  regenerate exercises/ from solutions/ (refuses to overwrite edited files; FORCE=1 does)"
	@echo "make grade SUBMISSIONS=folder [OUT=gradebook.csv]   grade a folder of submissions"
	@echo "make slides     build one reveal.js deck per lecture into build/slides, Korean ones into build/slides/ko"
	@echo "make check-slides  build the decks, check every slide in Chromium, screenshots in build/slides-shots"
	@echo "make pdf        one PDF per deck (print view, one slide per page) into build/pdf (needs Chromium)"
	@echo "make site       build the student website into build/site (offline; no solutions, no speaker notes)"
	@echo "make site-instructor  the instructor website (solutions, hidden tests, grading and speaker notes)"
	@echo "make benchmarks run benchmarks/ (ratios against reference implementations)"
	@echo ""
	@echo "variables (make VAR=value target), current value after the = sign:"
	@echo "  PYTHON=$(PYTHON)   the Python >= 3.11 that creates the environment"
	@echo "  VENV=$(VENV)   the environment folder"
	@echo "  USE_ACTIVE_ENV=$(USE_ACTIVE_ENV)   1: use the active conda/virtual environment instead of .venv"
	@echo "  TORCH_BUILD=$(TORCH_BUILD)   PyTorch build: auto (CUDA if an NVIDIA driver is present, else CPU), cpu, cuda"
	@echo "  JOBS=$(JOBS)   parallel pytest workers (make test) and grading jobs (make grade)"
	@echo "  PYTEST_ARGS=$(PYTEST_ARGS)   extra pytest options for make test, e.g. -k attention"
	@echo "  PORT=$(PORT)   JupyterLab's port (make lab)"
	@echo "  LAB_FLAGS=$(LAB_FLAGS)   extra JupyterLab options (make lab), e.g. --no-browser"
	@echo "  NB=$(NB)   the notebook for make execute"
	@echo "  FORCE=$(FORCE)   1: make exercises overwrites exercise files even if edited"
	@echo "  SUBMISSIONS=$(SUBMISSIONS)   the folder of submissions for make grade"
	@echo "  OUT=$(OUT)   the gradebook file for make grade (default gradebook.csv)"

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed, found " + sys.version)'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@extra=$$($(PY) tools/torch_index.py --build "$(TORCH_BUILD)" --python $(PY)) || exit $$?; \
	  echo "$(PY) -m pip install -q -c constraints.txt $$extra torch==2.13.0"; \
	  $(PY) -m pip install -q -c constraints.txt $$extra torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

install: $(INSTALLED)

work-copy: install
	$(PY) -m vitcourse.notebooks work-copy

# --LabApp.default_url: the URL JupyterLab prints (and / redirects to) opens the start page, not the Launcher
lab: work-copy
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb $(LAB_FLAGS) notebooks/00_start_here.ipynb

lab-ko: install
	$(PY) -m vitcourse.notebooks work-copy --exercises exercises/ko --to my-work/ko
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) \
	  --LabApp.default_url=/lab/tree/notebooks/ko/00_start_here.ipynb $(LAB_FLAGS) notebooks/ko/00_start_here.ipynb

# One pytest run: unit tests, notebook checks, and every notebook cell (nbval) of notebooks/ and solutions/.
test: install
	$(BIN)/ruff check vitcourse   # lint (configured in pyproject.toml)
	$(BIN)/ruff format --check vitcourse   # one layout (ruff format vitcourse fixes it)
	$(BIN)/mypy   # types of vitcourse/ (configured in pyproject.toml [tool.mypy])
	-$(PY) -m vitcourse.site vendor   # reveal.js and MathJax for the site tests (they skip without them)
	TQDM_DISABLE=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  -p no:cacheprovider $(PYTEST_ARGS) tests notebooks solutions

test-fast: install
	TQDM_DISABLE=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) -m "not slow" -p no:cacheprovider \
	  $(PYTEST_ARGS) tests

# The Korean edition: notebooks/ko, solutions/ko (from i18n/ko translations of the English cells) and exercises/ko.
ko: install
	$(PY) -m vitcourse.i18n build
	$(PY) -m vitcourse.i18n execute   # the Korean notebooks whose outputs are still the English ones
	$(PY) -m vitcourse.i18n check

execute: install
	@test -n "$(NB)" || (echo "usage: make execute NB=path/to/notebook.ipynb" && exit 2)
	$(PY) -m vitcourse.notebooks execute $(NB)

exercises: install
	$(PY) -m vitcourse.notebooks exercises $(if $(filter 1,$(FORCE)),--force)

validate: install
	$(PY) -m vitcourse.notebooks validate notebooks solutions

grade: install
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade SUBMISSIONS=folder [OUT=gradebook.csv]" && exit 2)
	$(BIN)/vitcourse grade $(SUBMISSIONS) --out $(or $(OUT),gradebook.csv) --jobs $(JOBS)

# Instructor decks (reveal.js, one per lecture) and the course website; offline: reveal.js and MathJax come
# from npm (package-lock.json, installed into build/npm) and are copied next to the HTML.
vendor: install
	$(PY) -m vitcourse.site vendor

slides: install vendor
	$(PY) -m vitcourse.site slides --out build/slides

# fails on a slide taller than 1280x720, clipped code, a wrong link, a web request, a console error or warning,
# Korean text drawn as missing-glyph boxes; English and Korean decks; a screenshot of every slide goes to
# build/slides-shots/ (Korean: build/slides-shots/ko/)
check-slides: slides
	$(PY) -m vitcourse.site check build/slides

# one PDF per deck from reveal.js's print view (headless Chromium): fails on a slide that would be cut or spill
# onto a second page, and on a page count other than the slide count
pdf: slides
	$(PY) -m vitcourse.site pdf build/slides --out build/pdf

site: install vendor
	$(PY) -m vitcourse.site site --out build/site

site-instructor: install vendor
	$(PY) -m vitcourse.site site --instructor --out build/site-instructor

benchmarks: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build _build .pytest_cache .mypy_cache .ruff_cache

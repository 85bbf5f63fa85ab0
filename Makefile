# vitcourse: two commands for users (README), a few more for authors.
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run every check (unit tests + every notebook)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
JOBS ?= 2
PYTEST_ARGS ?=
PORT ?= 8888

.PHONY: help install lab test test-fast execute exercises validate grade vendor slides check-slides site site-instructor benchmarks clean

help:
	@echo "make lab        set up .venv and open the course (JupyterLab, start page)"
	@echo "make test       set up .venv and run all tests and notebooks (what CI runs)"
	@echo "make test-fast  unit tests only"
	@echo "make execute NB=notebooks/01_attention.ipynb   re-execute one notebook in place, as CI does"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade SUBMISSIONS=folder   grade a folder of submissions into gradebook.csv"
	@echo "make slides     build one reveal.js deck per lecture into build/slides (offline)"
	@echo "make check-slides  build the decks, check every slide in Chromium, screenshots in build/slides-shots"
	@echo "make site       build the student website into build/site (offline; no solutions, no speaker notes)"
	@echo "make site-instructor  the instructor website (solutions, hidden tests, grading and speaker notes)"
	@echo "make benchmarks run benchmarks/ (ratios against reference implementations)"

$(INSTALLED): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed, found " + sys.version)'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[test]'
	@touch $@

install: $(INSTALLED)

lab: install
	$(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --port=$(PORT) $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_FLAGS) notebooks/00_start_here.ipynb

# One pytest run: unit tests, notebook checks, and every notebook cell (nbval) of notebooks/ and solutions/.
test: install
	-$(PY) -m vitcourse.site vendor   # reveal.js and MathJax for the site tests (they skip without them)
	TQDM_DISABLE=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) --dist loadfile \
	  --nbval-lax --nbval-current-env --nbval-cell-timeout=900 \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg \
	  -p no:cacheprovider $(PYTEST_ARGS) tests notebooks solutions

test-fast: install
	TQDM_DISABLE=1 MPLBACKEND=Agg $(PY) -m pytest -n $(JOBS) -p no:cacheprovider tests

execute: install
	@test -n "$(NB)" || (echo "usage: make execute NB=path/to/notebook.ipynb" && exit 2)
	$(PY) -m vitcourse.notebooks execute $(NB)

exercises: install
	$(PY) -m vitcourse.notebooks exercises

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

# fails on a slide taller than 1280x720, clipped code, a wrong link, a web request or a console error;
# a screenshot of every slide goes to build/slides-shots/
check-slides: slides
	$(PY) -m vitcourse.site check build/slides

site: install vendor
	$(PY) -m vitcourse.site site --out build/site

site-instructor: install vendor
	$(PY) -m vitcourse.site site --instructor --out build/site-instructor

benchmarks: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf build _build .pytest_cache

# gan-tutor: `make run` executes every notebook, `make test` runs every test, `make lab` opens JupyterLab.
# Each target sets itself up on a fresh machine: a virtual environment in .venv with the CI lock.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
TIER   ?= cpu
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: run test lab setup students clean browser

$(STAMP): pyproject.toml requirements-ci.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-ci.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP)

# Every notebook in order, headless, at TIER (smoke | cpu | gpu | full), into build/TIER/.
# RESUME=1 resumes the run folders of an interrupted `make run` instead of training afresh.
run: $(STAMP)
	$(PY) scripts/run_notebooks.py --tier $(TIER) $(if $(RESUME),--resume)

# Unit tests, the notebooks at the smoke tier through papermill (tests/test_notebooks.py), the student
# versions, and the notebooks again through nbval.
test: $(STAMP) browser
	GAN_TUTOR_TIER=smoke $(PY) -m pytest tests
	rm -rf build/nbval-runs
	GAN_TUTOR_HEADLESS=1 GAN_TUTOR_TIER=smoke GAN_TUTOR_RUNS=$(abspath build/nbval-runs) $(PY) -m pytest --nbval-lax -p no:cacheprovider $(wildcard notebooks/[0-9]*.ipynb)

# The browser test (tests/test_browser.py) drives Debian's chromium package: installed here when missing, if we are
# root with apt (CI, containers); elsewhere the test skips and says why. Nothing is downloaded by Playwright.
browser:
	@command -v chromium >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1 || \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; } || \
	  echo "could not install chromium: the browser test will be skipped"

lab: $(STAMP)
	$(PY) -m pip install --quiet "jupyterlab>=4"
	$(PY) -m jupyter lab notebooks/ $(if $(filter 0,$(shell id -u)),--allow-root)  # JupyterLab refuses root (Docker, Colab-like containers) without the flag

# Regenerate the student notebooks from the solution notebooks (instructors).
students: $(STAMP)
	$(PY) scripts/make_student_notebooks.py

clean:
	rm -rf build

# Two commands for a newcomer on a fresh machine:
#   make demo   sets up a virtual environment and starts the app on http://127.0.0.1:7860
#   make test   sets up (with test tools and headless Chromium) and runs every test
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
# pip may be capped below the pinned torch by a machine-wide constraints file; our pins are the contract.
PIP := PIP_CONSTRAINT=/dev/null $(VENV)/bin/pip install --no-cache-dir --disable-pip-version-check -q

.PHONY: demo test test-fast setup setup-dev browser lint bench clean

# ultralytics pulls in opencv-python, which shares the cv2 folder with the contrib build we pin:
# after every install, remove it and put the contrib build back, so exactly one cv2 remains.
ONE_OPENCV = $(VENV)/bin/pip uninstall -y -q opencv-python 2>/dev/null || true; \
	$(PIP) --force-reinstall --no-deps $$(grep '^opencv-contrib-python-headless==' requirements.txt)

$(VENV)/.runtime: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) -r requirements.txt
	$(ONE_OPENCV)
	$(PIP) --no-deps -e .
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PIP) -r requirements-dev.txt
	$(ONE_OPENCV)
	touch $@

setup: $(VENV)/.runtime
setup-dev: $(VENV)/.dev

demo: setup
	$(PY) app.py

# Debian's Chromium for the Playwright tests (never `playwright install`: it downloads a browser).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install -y chromium' (browser tests are skipped without it)"; fi; }

test: setup-dev browser
	$(VENV)/bin/ruff check .
	$(PY) -m pytest

# Unit tests only: tiny random models, no real weights, no server, no browser (about a minute).
test-fast: setup-dev
	$(PY) -m pytest -q -m "not weights and not server and not browser"

lint: setup-dev
	$(VENV)/bin/ruff check .

bench: setup-dev
	$(PY) bench/bench_gatys.py

clean:
	rm -rf $(VENV) .cache .pytest_cache test-artifacts

# The interface of the project: `make demo`, `make test`, `make lint`.
# Every target installs what it needs into .venv first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# jsii on Node 20 prints a large end-of-life banner on every process; keep output readable.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo test lint format clean chromium screenshots

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# Make the repository's packages (lambdas, cli, emulator, infrastructure) importable from the
	# venv without a build step: `python cli/main.py` and the tests then work from any directory.
	echo "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/cost_reporting.pth"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/python cli/main.py demo

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) out cdk.out .build .pytest_cache .mypy_cache .ruff_cache

# Headless Chromium (Debian's package) renders the demo emails at 640 px for the README.
SHOT_DATE ?= 2026-11-27

chromium:
	@command -v chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

screenshots: install chromium
	$(BIN)/python cli/main.py demo --as-of $(SHOT_DATE) --output out/screenshots
	mkdir -p docs/screenshots
	for client in acme-retail; do \
	  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
	    --disable-background-networking --disable-component-update --disable-sync \
	    --user-data-dir=$$(mktemp -d) --hide-scrollbars --window-size=640,1560 \
	    --screenshot=docs/screenshots/$$client.png file://$(CURDIR)/out/screenshots/$$client/report.html; \
	done

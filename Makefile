# The interface of the project: `make demo`, `make test`, `make lint`.
# Every target installs what it needs into .venv first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# jsii on Node 20 prints a large end-of-life banner on every process; keep output readable.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install demo bench drill test test-future lint format clean chromium screenshots checkov faketime

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	# Make the repository's packages (lambdas, cli, emulator, infrastructure) importable from the
	# venv without a build step: `python cli/main.py` and the tests then work from any directory.
	echo "$(CURDIR)" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/cost_reporting.pth"
	touch $(STAMP)

install: $(STAMP)

# checkov lives in its own venv: its dependency tree (boto3, pydantic, ...) conflicts with the project's pins.
CHECKOV_VENV  := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed

$(CHECKOV_STAMP): requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(CHECKOV_STAMP)

checkov: $(CHECKOV_STAMP)

demo: install
	$(BIN)/python cli/main.py demo

# Not part of `make test`: 10, 100 and 1,000 clients end to end on the embedded AWS (a few minutes).
bench: install layer
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.exports

# Not part of `make test`: the quarterly recovery drill of docs/operations.md with 1,004 clients,
# timed step by step on this machine (bench/drill.json; about 8 minutes on 2 cores).
drill: install
	$(BIN)/python -m bench.drill

# The browser test (tests/browser) needs Debian's chromium, and the static checks of the templates
# (tests/security/test_static_checks.py) need checkov: both installed here, and required (not skipped).
test: install chromium layer checkov
	$(BIN)/ruff check .
	REQUIRE_CHROMIUM=1 REQUIRE_CHECKOV=1 $(BIN)/python -m pytest

# The whole suite a year ahead of the real clock (Debian's faketime): proves that no test and no code
# path it runs reads the real date (lambdas/clock.py is the one clock; tests pin it). Not part of
# `make test` (it runs slower under faketime). The cache duration keeps libfaketime from re-reading
# its settings while threads change the environment (a crash otherwise).
test-future: install chromium layer checkov faketime
	FAKETIME_CACHE_DURATION=86400 \
	  REQUIRE_CHROMIUM=1 REQUIRE_CHECKOV=1 faketime -f '+365d' $(BIN)/python -m pytest

faketime:
	@command -v faketime >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q faketime; }

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) out cdk.out .build .pytest_cache .mypy_cache .ruff_cache

# Headless Chromium (Debian's package) renders every demo email at 600 px (tests/browser); as root,
# or through sudo when there is one.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium; }

# The browser test checks the emails and writes docs/screenshots/{daily,weekly,monthly,final,data-export,daily-dark}.png.
screenshots: install chromium
	REQUIRE_CHROMIUM=1 SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/browser -q

# --- Deploy (docs/deploy.md) ----------------------------------------------------------------------
.PHONY: layer synth deploy
ENV ?=

# The Lambda layers: the shared one (layers/requirements.txt) and the export worker's DuckDB
# (layers/data-exports/requirements.txt), as manylinux wheels for the Lambda runtime's CPython, no
# Docker; each rebuilt only when its file changes (infrastructure/assets.py).
layer: install
	$(BIN)/python -m infrastructure.assets layer

# The CDK CLI pinned in package.json, exactly as package-lock.json says.
node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund

# cdk.out/ for every environment (or ENV=prod|staging|dev). cdk-nag runs as a validation plugin:
# an unacknowledged finding fails the synth. Without npm, the app synthesizes itself the same way.
# Then cfn-lint on every template, as in tests/infrastructure/test_nag.py (W3005: CDK's own
# DependsOn from a function to its role's default policy, already implied by a GetAtt).
synth: install layer
	@if command -v npm >/dev/null; then \
	  $(MAKE) --no-print-directory node_modules/.package-lock.json && \
	  npx --no-install cdk synth --quiet $(if $(ENV),-c environment=$(ENV)); \
	else \
	  $(BIN)/python app.py $(if $(ENV),-c environment=$(ENV)); \
	fi
	$(BIN)/cfn-lint --ignore-checks W3005 --regions us-east-1 eu-west-1 -- cdk.out/*.template.json
	@ls cdk.out/*.template.json

# make deploy ENV=prod [SENDER_EMAIL=reports@your-domain] [ALERT_EMAIL=ops@your-domain]
deploy: install layer node_modules/.package-lock.json
	@test -n "$(ENV)" || { echo "usage: make deploy ENV=prod|staging|dev [SENDER_EMAIL=...] [ALERT_EMAIL=...]" >&2; exit 2; }
	npx --no-install cdk deploy -c environment=$(ENV) \
	  $(if $(SENDER_EMAIL),-c sender_email=$(SENDER_EMAIL)) $(if $(ALERT_EMAIL),-c alert_email=$(ALERT_EMAIL)) \
	  --require-approval broadening

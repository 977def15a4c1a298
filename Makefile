# The commands people run. `make run` and `make test` are the two that matter.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

# Tests use real servers; override with TEST_DATABASE_URL / TEST_REDIS_URL.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/callcenter
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

VENDOR := static/vendor/.built

.PHONY: setup run demo test lint format bench messages clean

$(STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

# Browser libraries (htmx, Alpine.js, JsSIP, ECharts) from npm, bundled locally: no CDN.
$(VENDOR): frontend/package-lock.json frontend/build.mjs
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build
	touch $(VENDOR)

## setup: virtualenv, dependencies, browser bundle, migrations, demo data, IVR flows, prompts
setup: $(STAMP) $(VENDOR)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_crm_demo
	$(PY) manage.py seed_housing_fund_demo
	$(PY) manage.py load_ivr_flows
	@if command -v espeak-ng >/dev/null && command -v sox >/dev/null; then \
		$(PY) manage.py synthesize_prompts; \
	else \
		echo "espeak-ng/sox not installed: prompts not synthesized (apt-get install espeak-ng sox asterisk-core-sounds-en-wav)"; \
	fi

## run: web + daemon + workers (runs setup first); http://127.0.0.1:8000
run: setup
	$(PY) scripts/run_platform.py

## demo: the platform plus simulated traffic
demo: setup
	$(PY) scripts/run_platform.py --demo

## test: lint, Django checks, migrations check, then the whole pytest suite
test: $(STAMP) $(VENDOR)
	$(VENV)/bin/ruff check .
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) manage.py check
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) manage.py makemigrations --check --dry-run
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) -m pytest $(PYTEST_ARGS)

## lint: ruff lint + format check, mypy
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy accounts telephony config

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## bench: measure the platform against its goals (BENCH_QUICK=1 for a one-minute run)
bench: $(STAMP)
	$(PY) -m bench

## messages: refresh and compile the translation catalogues
messages: $(STAMP)
	$(PY) scripts/messages.py

clean:
	rm -rf var $(VENV)

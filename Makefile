# Two commands for a newcomer: `make run` (the demo) and `make test` (the suite).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Past sessions the demo gets on its first run, so the dashboard has months to show.
DEMO_HISTORY ?= 20000
# With DEBUG off the service needs a SECRET_KEY: unless one is given (SECRET_KEY or
# SECRET_KEY_FILE), this checkout keeps a random key of its own in .secret_key (gitignored).
LOCAL_SECRET_KEY := .secret_key
ifeq ($(strip $(SECRET_KEY)$(SECRET_KEY_FILE)),)
export SECRET_KEY_FILE := $(CURDIR)/$(LOCAL_SECRET_KEY)
endif

# The exact versions (with hashes) every install takes: `make lock` refreshes them
# from pyproject.toml's ranges; `make run`, `make test` and CI install from it.
LOCK := requirements-dev.lock
# `make run`'s gunicorn and Celery processes write their metrics here and /metrics
# adds them up (config/metrics.py); emptied at each start.
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/.state/metrics

.PHONY: run test lint lock format messages bench-flow bench-analytics bench-alerts bench-soak clean

$(STAMP): $(LOCK) pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --require-hashes -r $(LOCK)
	$(VENV)/bin/pip install --quiet --no-deps -e .
	@touch $(STAMP)

## lock: resolve pyproject.toml's dependencies (and the dev and embeddings extras) again into $(LOCK)
lock:
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet "uv>=0.5,<1"
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra embeddings --universal --python-version 3.11 \
		--generate-hashes --quiet -o $(LOCK)

# axe-core for the browser tests' accessibility checks (npm writes this file on install).
AXE_STAMP := tests/browser/node_modules/.package-lock.json
$(AXE_STAMP): tests/browser/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/browser --no-audit --no-fund; \
	else echo "npm not found: the accessibility tests will be skipped (apt-get install nodejs npm)"; fi

$(LOCAL_SECRET_KEY):
	@umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

## run: install, migrate, seed the demo and serve on http://$(HOST):$(PORT)
run: $(STAMP) $(LOCAL_SECRET_KEY)
	@mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)" && rm -f "$(PROMETHEUS_MULTIPROC_DIR)"/*.db
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input --verbosity 0
	DEMO_HOST_PAGE=$${DEMO_HOST_PAGE:-true} PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		$(PY) manage.py seed_demo --history-if-none $(DEMO_HISTORY)
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		echo "PostgreSQL + Redis: web, Celery worker and beat (honcho)"; \
		DEMO_HOST_PAGE=$${DEMO_HOST_PAGE:-true} HOST=$(HOST) PORT=$(PORT) \
		PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		ALLOW_PRIVATE_WEBHOOK_TARGETS=$${ALLOW_PRIVATE_WEBHOOK_TARGETS:-true} \
		PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) \
			$(VENV)/bin/honcho -f Procfile start; \
	else \
		echo "Embedded mode: SQLite, tasks run in-process. Serving http://$(HOST):$(PORT)/"; \
		DEMO_HOST_PAGE=$${DEMO_HOST_PAGE:-true} HOST=$(HOST) PORT=$(PORT) \
		PUBLIC_BASE_URL=$${PUBLIC_BASE_URL:-http://$(HOST):$(PORT)} \
		ALLOW_PRIVATE_WEBHOOK_TARGETS=$${ALLOW_PRIVATE_WEBHOOK_TARGETS:-true} \
		PROMETHEUS_MULTIPROC_DIR=$(PROMETHEUS_MULTIPROC_DIR) \
			$(VENV)/bin/honcho -f Procfile start web; \
	fi

## test: the whole suite (integration tests need DATABASE_URL and REDIS_URL; see README)
test: $(STAMP) $(LOCAL_SECRET_KEY) $(AXE_STAMP)
	$(PY) -m pytest

lint: $(STAMP) $(LOCAL_SECRET_KEY)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

format: $(STAMP) $(LOCAL_SECRET_KEY)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## messages: refresh and compile the Chinese and German catalogues (needs GNU gettext)
messages: $(STAMP) $(LOCAL_SECRET_KEY)
	$(PY) manage.py makemessages -l zh_Hans -l de --ignore=.venv --ignore=tests --ignore=bench
	$(PY) manage.py compilemessages -l zh_Hans -l de --ignore=.venv

bench-flow: $(STAMP) $(LOCAL_SECRET_KEY)
	$(PY) bench/flow.py

bench-analytics: $(STAMP) $(LOCAL_SECRET_KEY)
	$(PY) bench/analytics.py $(BENCH_ARGS)

bench-alerts: $(STAMP) $(LOCAL_SECRET_KEY)
	$(PY) bench/alerts.py

## bench-soak: 10 minutes at 20 cancellations/s under faults (DATABASE_URL=postgres://…)
bench-soak: $(STAMP) $(LOCAL_SECRET_KEY)
	$(PY) bench/soak.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache .mypy_cache .ruff_cache .state

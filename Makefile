# Two commands do all set-up: `make run` (local server) and `make test` (the whole suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# pytest-xdist workers (0: one process); TEST_MARKERS: a marker expression (-m) narrowing the suite
TEST_WORKERS ?= auto
TEST_MARKERS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint format lock fuzz soak install install-dev system-deps migrate superuser static check-deploy clean

help:
	@echo "make run    - set up .venv, migrate, create the dev superuser and serve on http://$(HOST):$(PORT)"
	@echo "make test   - set up .venv with dev requirements and run the whole pytest suite, in parallel"
	@echo "              (DATABASE_URL=mysql://root@127.0.0.1:3306/opsconsole for MariaDB)"
	@echo "make lint   - ruff: lint and format check (make format fixes what it can)"
	@echo "make lock   - recompile requirements.txt and requirements-dev.txt from the .in files"
	@echo "              (UPGRADE=pika upgrades one package, UPGRADE=all every one)"
	@echo "make fuzz   - fuzz every API operation with $(FUZZ_MAX_EXAMPLES) generated cases each (schemathesis, tests/fuzz)"
	@echo "make soak   - API + 2 relays + 2 consumers for SOAK_SECONDS (default 180) while the broker"
	@echo "              connection is cut every few seconds; MariaDB + RabbitMQ; prints the figures"

system-deps:
	@bash scripts/ensure_system_deps.sh

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# the locks: every package pinned with its hashes, nothing installed that they don't list
$(VENV)/.installed: requirements.txt | $(PY)
	@$(MAKE) --no-print-directory system-deps
	$(PIP) install --require-hashes --no-deps -r requirements.txt
	@touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(PIP) install --require-hashes --no-deps -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# local development: DEBUG on and plain HTTP unless the caller says otherwise
run: export DEBUG ?= 1
run: export SECURE_SSL_REDIRECT ?= 0
run: export SESSION_COOKIE_SECURE ?= 0
run: export CSRF_COOKIE_SECURE ?= 0
run: export SECURE_HSTS_SECONDS ?= 0
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py ensure_dev_superuser
	@echo ""
	@echo "  Admin:    http://$(HOST):$(PORT)/admin/"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "  API:      http://$(HOST):$(PORT)/api/"
	@echo ""
	$(VENV)/bin/uvicorn project.asgi:application --host $(HOST) --port $(PORT) --log-level info

# the suite in parallel, one test database and one set of broker names per worker; the tests marked
# serial (daemons under faults and load) run one after another on one of the workers
test: install-dev
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup $(if $(TEST_MARKERS),-m "$(TEST_MARKERS)") $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# UPGRADE=<package> (or all) moves that package to its newest release; otherwise every pin is kept
UPGRADE ?=
_UPGRADE = $(if $(filter all,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))
_COMPILE = $(VENV)/bin/uv pip compile --generate-hashes --python-version 3.11 --universal $(_UPGRADE)
lock: install-dev
	$(_COMPILE) requirements.in -o requirements.txt
	$(_COMPILE) requirements-dev.in -o requirements-dev.txt

# the same fuzz tests `make test` runs with a few cases per operation, at full strength
FUZZ_MAX_EXAMPLES ?= 300
fuzz: install-dev
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) $(PY) -m pytest -n $(TEST_WORKERS) tests/fuzz $(PYTEST_ARGS)

# the soak test also runs in `make test`, for 20 seconds
soak: export DATABASE_URL ?= mysql://root@127.0.0.1:3306/opsconsole
soak: export REQUIRE_SERVICES ?= 1
soak: export SOAK_SECONDS ?= 180
soak: install-dev
	$(PY) -m pytest tests/soak -p no:cacheprovider -rA $(PYTEST_ARGS)

check-deploy: install
	DEBUG=0 SECRET_KEY="$${SECRET_KEY:-$$($(PY) -c "import secrets; print(secrets.token_urlsafe(50))")}" $(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) staticfiles .pytest_cache

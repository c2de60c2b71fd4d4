# Two commands on a fresh machine with Python 3.11+:  make run  |  make test
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Rapport needs Python 3.11 or newer")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# Embedded PostgreSQL (unless DATABASE_URL is set), migrations, demo data, then
# web server, Celery worker and beat in the foreground; one Ctrl-C stops all.
run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	bash scripts/test.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(STAMP)
	eval "$$($(PY) scripts/test_services.py)" && $(PY) -m benchmarks.run

# A day under load: locust against gunicorn, a worker and beat (10 minutes; var/bench/soak.md).
soak: $(STAMP)
	eval "$$($(PY) scripts/test_services.py)" && $(PY) -m benchmarks.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) var

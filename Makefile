# Two commands on a fresh machine with Python 3.11+:  make run  |  make test
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench soak clean

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Rapport needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

venv: $(STAMP)

# Web server, Celery worker and beat in the foreground; one Ctrl-C stops all.
run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	@echo ""
	@echo "Rapport is starting on http://127.0.0.1:$${RAPPORT_PORT:-8000}/  (admin: http://127.0.0.1:$${RAPPORT_PORT:-8000}/admin/)"
	@echo ""
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/honcho start -f Procfile

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

# Fair Reply: the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench package clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) requirements.txt requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

## Start the local stack on http://127.0.0.1:8000 (SQLite under ./data, local scheduler, sample data)
run: $(STAMP)
	$(PY) -m chalicelib run

## Run the whole test suite
test: $(STAMP)
	$(PY) -m pytest -n 2 $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check chalicelib app.py tests bench

## Rerun every benchmark and rewrite the tables in BENCHMARKS.md
bench: $(STAMP)
	$(PY) -m bench

## Build the deployable CloudFormation template and zip under build/$(STAGE)/ (no AWS account needed)
STAGE ?= prod
COMPANIES ?= companies.toml
PACKAGE_OUT ?= build/$(STAGE)
package: $(STAMP)
	$(PY) -m infra.package --stage $(STAGE) --companies $(COMPANIES) --out $(PACKAGE_OUT)

clean:
	rm -rf $(VENV) build .pytest_cache

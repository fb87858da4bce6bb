# Every target is a one-liner; `make demo` and `make test` do all set-up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# checkov pins its own boto3, so it gets an environment of its own (pyproject's `checkov` extra).
CHECKOV_VENV ?= .venv-checkov
CHROMIUM := /usr/bin/chromium
# The browser tests drive Debian's chromium; Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo dev test lint typecheck checkov format bench layer-check validate clean

$(BIN)/.installed: pyproject.toml layers/common/requirements.txt
	$(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip && $(BIN)/python -m pip install -q -e '.[dev]' && touch $@

$(CHROMIUM):
	apt-get update && apt-get install -y chromium

demo: $(BIN)/.installed
	$(BIN)/guildlog demo

dev: $(BIN)/.installed
	$(BIN)/guildlog dev

test: lint typecheck checkov $(CHROMIUM)
	$(BIN)/python -m pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/cfn-lint template.yaml

typecheck: $(BIN)/.installed
	$(BIN)/mypy

# Every finding is fixed or skipped in template.yaml with its reason (Metadata: checkov: skip).
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download

$(CHECKOV_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/python -m pip install -q 'checkov>=3.2,<4' && touch $@

format: $(BIN)/.installed
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

layer-check: $(BIN)/.installed
	$(BIN)/python -m guildlog_tools.layer_check

bench: $(BIN)/.installed
	$(BIN)/python -m bench

validate:
	sam validate --lint && sam build

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .guildlog .pytest_cache .ruff_cache

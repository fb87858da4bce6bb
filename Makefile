# Every target is a one-liner; `make demo` and `make test` do all set-up on a fresh machine.
# The Lambda runtime's Python (3.13) when it is installed, so that every test runs; else python3 if it
# is 3.11 or newer. `make PYTHON=…` overrides. Candidates are run, not just found: pyenv's python3.13
# shim exists even when 3.13 is not the active version, and then fails.
PYTHON ?=
FIND_PYTHON = for c in python3.13 $$(pyenv root 2>/dev/null)/versions/3.13*/bin/python3.13 python3; do "$$c" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null && { echo "$$c"; exit 0; }; done; echo "guildlog needs Python 3.13 (or 3.11 or newer): install one, or run make PYTHON=/path/to/python3" >&2; exit 1
VENV ?= .venv
BIN := $(VENV)/bin
# checkov pins its own boto3, so it gets an environment of its own (pyproject's `checkov` extra).
CHECKOV_VENV ?= .venv-checkov
CHROMIUM := /usr/bin/chromium
# The browser tests drive Debian's chromium; Playwright must never fetch a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: demo dev test lint typecheck checkov format bench layer-check validate clean relay-image

$(BIN)/.installed: pyproject.toml layers/common/requirements.txt
	py="$(PYTHON)"; [ -n "$$py" ] || py=$$($(FIND_PYTHON)) && echo "making $(VENV) with $$py" && "$$py" -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip && $(BIN)/python -m pip install -q -e '.[dev]' && touch $@

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
# checkov leaves out resources whose condition is false by default: the second run scans the stack
# as it is with the relay hosted (RelayHosting=fargate).
checkov: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --quiet --compact --skip-download
	sed 's/^    Default: none$$/    Default: fargate/' template.yaml > $(CHECKOV_VENV)/template-relay-hosted.yaml && $(CHECKOV_VENV)/bin/checkov --file $(CHECKOV_VENV)/template-relay-hosted.yaml --framework cloudformation --quiet --compact --skip-download

$(CHECKOV_VENV)/.installed: pyproject.toml $(BIN)/.installed
	$(BIN)/python -m venv $(CHECKOV_VENV) && $(CHECKOV_VENV)/bin/python -m pip install -q 'checkov>=3.2,<4' && touch $@

format: $(BIN)/.installed
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

layer-check: $(BIN)/.installed
	$(BIN)/python -m guildlog_tools.layer_check

# The relay's image for RelayHosting=fargate, for both of Fargate's platforms (arm64 on demand,
# amd64 on Spot), pushed to RELAY_IMAGE (an ECR repository URI:tag). Needs docker with buildx.
relay-image:
	test -n "$(RELAY_IMAGE)" || { echo "make relay-image RELAY_IMAGE=<account>.dkr.ecr.<region>.amazonaws.com/guildlog-relay:<tag>"; exit 2; }
	docker buildx build --platform linux/arm64,linux/amd64 -f deploy/Containerfile -t $(RELAY_IMAGE) --push .

bench: $(BIN)/.installed
	$(BIN)/python -m bench

validate:
	sam validate --lint && sam build

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .aws-sam .guildlog .pytest_cache .ruff_cache

# Two commands do all the set-up: `make plan SITE=<site>` and `make test` each create .venv and install.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= us-ashburn
STAMP := $(VENV)/.installed

.PHONY: plan test sites policy bench schema clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

plan: $(STAMP)  ## plan a shipped site offline: make plan SITE=ar-patagonia
	$(BIN)/sitekit plan $(SITE)

sites: $(STAMP)
	$(BIN)/sitekit sites

policy: $(STAMP)  ## the policy pack offline against every shipped site
	$(BIN)/sitekit policy --all

test: $(STAMP)  ## the whole test suite (what CI runs)
	$(BIN)/python -m pytest

bench: $(STAMP)  ## plan time and peak memory against a floor measured in the same run
	$(BIN)/python bench/plan_bench.py --site $(SITE)

schema: $(STAMP)  ## regenerate schema/*.json from the spec models (a test fails when they are stale)
	$(BIN)/sitekit schema --write

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

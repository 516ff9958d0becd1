# Two commands do all the set-up: `make plan SITE=<site>` and `make test` each create .venv and install.
# `make engine-test` also builds the Pulumi CLI (needs Go) the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= us-ashburn
STAMP := $(VENV)/.installed

.PHONY: install plan test fuzz engine-test pulumi chromium sites policy bench bench-engine bench-fleet schema docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)  ## only the set-up (.venv with sitekit); plan and test do it too

plan: $(STAMP)  ## plan a shipped site offline: make plan SITE=ar-patagonia
	$(BIN)/sitekit plan $(SITE)

sites: $(STAMP)
	$(BIN)/sitekit sites

policy: $(STAMP)  ## the policy pack offline against every shipped site
	$(BIN)/sitekit policy --all

test: $(STAMP)  ## the fast suite: Python only, no Pulumi CLI (what CI runs first)
	$(BIN)/python -m pytest -m "not engine"

fuzz: $(STAMP)  ## the nightly-sized run of generated bad input (10,000 examples, 100 CLI runs; README "Bad input")
	SITEKIT_FUZZ_EXAMPLES=$${SITEKIT_FUZZ_EXAMPLES:-10000} $(BIN)/python -m pytest -q -s tests/test_fuzz.py

pulumi:  ## the Pulumi CLI (built from Go modules) and sitekit's Python language host into .pulumi/bin
	tools/pulumi/build.sh

chromium:  ## Debian's chromium for the fleet report's browser test (engine-test installs it when missing)
	@test -x /usr/bin/chromium || apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "make: could not install Debian's chromium (apt-get install -y chromium, as root); the fleet report's browser test will fail"

engine-test: $(STAMP) pulumi chromium  ## end-to-end tests: the real Pulumi engine with the stand-in OCI provider, the fleet report in chromium
	SITEKIT_ENGINE_TESTS=required $(BIN)/python -m pytest -m engine tests/engine

bench: $(STAMP)  ## plan time and peak memory against a floor measured in the same run
	$(BIN)/python bench/plan_bench.py --site $(SITE)

bench-engine: $(STAMP) pulumi  ## pulumi preview of each shipped site against sitekit plan, and the CLI build time
	$(BIN)/python bench/engine_bench.py

bench-fleet: $(STAMP)  ## sitekit fleet --html for 50 stamped sites, cold and warm (bench/results/fleet.md)
	$(BIN)/python bench/fleet_bench.py

schema: $(STAMP)  ## regenerate schema/*.json from the spec models (a test fails when they are stale)
	$(BIN)/sitekit schema --write

docs: $(STAMP) schema  ## regenerate every generated file: schema/*.json and docs/policies.md (rules + corpus examples); tests fail when one is stale
	$(BIN)/python -m sitekit.policy.docs

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

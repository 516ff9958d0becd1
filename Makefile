# Two commands do all the set-up: `make plan SITE=<site>` and `make test` each create .venv and install
# (plan the runtime set, test the test set too), hash-checked from requirements/*.txt (`make lock` refreshes them).
# `make engine-test` also builds the Pulumi CLI and SeaweedFS's S3 server (both need Go) the first time.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SITE ?= us-ashburn
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
# The one tool that writes requirements/*.txt (`make lock`), pinned; README "Dependencies and the lock files".
UV_VERSION := 0.13.8
LOCK_ARGS ?=
UV_COMPILE := pip compile --quiet --no-config --python-version 3.11 --python-platform linux --generate-hashes \
	--only-binary :all: --emit-build-options --custom-compile-command "make lock" $(LOCK_ARGS)

.PHONY: install install-runtime lock plan test fuzz engine-test pulumi s3 chromium sites policy bench bench-engine bench-fleet schema docs kueue-crds clean

# Every package comes from a lock file, hash-checked (pip refuses a file whose hash is not listed, and any
# dependency the lock lacks); sitekit itself is then built by the locked setuptools, with no index at all.
$(RUNTIME_STAMP): pyproject.toml requirements/runtime.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/runtime.txt
	$(BIN)/pip install --quiet --no-index --no-deps --no-build-isolation -e .
	touch $@

# the test set: the runtime set at the same pins, and the test extras
$(STAMP): $(RUNTIME_STAMP) requirements/test.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements/test.txt
	touch $@

install: $(STAMP)  ## only the set-up (.venv with sitekit and the test set); plan and test do it too

install-runtime: $(RUNTIME_STAMP)  ## .venv with sitekit and its runtime dependencies only (what the deploy jobs install)

lock:  ## refresh requirements/*.txt from pyproject.toml (make lock LOCK_ARGS=--upgrade moves every pin)
	tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(PYTHON) -m venv "$$tmp" && "$$tmp/bin/pip" install --quiet uv==$(UV_VERSION) && \
	UV_PYTHON_DOWNLOADS=never "$$tmp/bin/uv" $(UV_COMPILE) --extra test \
	  pyproject.toml requirements/build.in -o requirements/test.txt && \
	UV_PYTHON_DOWNLOADS=never "$$tmp/bin/uv" $(UV_COMPILE) -c requirements/test.txt \
	  pyproject.toml requirements/build.in -o requirements/runtime.txt

plan: $(RUNTIME_STAMP)  ## plan a shipped site offline: make plan SITE=ar-patagonia
	$(BIN)/sitekit plan $(SITE)

sites: $(RUNTIME_STAMP)
	$(BIN)/sitekit sites

policy: $(RUNTIME_STAMP)  ## the policy pack offline against every shipped site
	$(BIN)/sitekit policy --all

test: $(STAMP)  ## the fast suite: Python only, no Pulumi CLI (what CI runs first)
	$(BIN)/python -m pytest -m "not engine"

fuzz: $(STAMP)  ## the nightly-sized run of generated bad input (10,000 examples, 100 CLI runs; README "Bad input")
	SITEKIT_FUZZ_EXAMPLES=$${SITEKIT_FUZZ_EXAMPLES:-10000} $(BIN)/python -m pytest -q -s tests/test_fuzz.py

pulumi:  ## the Pulumi CLI (built from Go modules) and sitekit's Python language host into .pulumi/bin
	tools/pulumi/build.sh

s3:  ## SeaweedFS's `weed` (a real S3 server for the S3 state backend's engine tests), built from Go modules into .tools/bin
	tools/seaweedfs/build.sh

chromium:  ## Debian's chromium for the fleet report's browser test (engine-test installs it when missing)
	@test -x /usr/bin/chromium || apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "make: could not install Debian's chromium (apt-get install -y chromium, as root); the fleet report's browser test will fail"

engine-test: $(STAMP) pulumi s3 chromium  ## end-to-end tests: the real Pulumi engine with the stand-in OCI provider, state in a local S3 server, the fleet report in chromium
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

kueue-crds:  ## refresh the Kueue CRDs `sitekit kueue` is tested against (tests/schemas/kueue-*/), from the Go module proxy, sha256-checked
	tools/kueue/refresh.sh

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

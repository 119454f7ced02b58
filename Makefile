# yidi: developer entry points. `make test` is what CI runs.
SHELL := /bin/bash
# The venv's interpreter: Debian's python3.11 (PGO + LTO) when there, else python3 (deploy/local/python.sh)
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell deploy/local/python.sh)
endif
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
VENV_PY := $(VENV)/.python
PYTEST := $(BIN)/pytest

.PHONY: FORCE assets browser dashboard venv up down clean migrate topics lint typecheck unit integration e2e test demo e2e-full e2e-crash bench-codec bench-adjudication bench-pipeline bench-task bench-clearing recon-100k bench-replay e2e-replay fuzz-engine e2e-bad-input e2e-supervision bench-topics bench-signatures e2e-faults e2e-cluster e2e-clearing fuzz-decoder fuzz-fee-lines promtool prometheus-check

venv: $(STAMP) assets

# the dashboard's charts (ECharts + our page script, bundled by esbuild; idempotent)
assets:
	deploy/dashboard/build.sh

# Debian's Chromium and a CJK font for the dashboard's browser test (idempotent)
browser:
	deploy/dashboard/browser.sh

# the interpreter the venv was built on; another one (PYTHON changed) rebuilds the venv. Rewritten
# only when it differs, so the stamp below is not remade otherwise.
$(VENV_PY): FORCE
	@want="$$(command -v $(PYTHON))"; \
	if [[ "$$(cat $@ 2>/dev/null)" != "$$want" ]]; then \
	  if [[ -d $(VENV) ]]; then echo "[venv] interpreter now $$want: rebuilding $(VENV)"; rm -rf $(VENV); fi; \
	  mkdir -p $(VENV) && echo "$$want" > $@; \
	fi

FORCE:

$(STAMP): pyproject.toml $(VENV_PY)
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11+ required"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# BROKERS=3: the local three-node cluster (deploy/local/kafka-cluster.sh) instead of the single node
BROKERS ?= $(or $(YIDI_BROKERS),1)

up: venv
	YIDI_BROKERS=$(BROKERS) deploy/local/up.sh

down:
	deploy/local/down.sh

clean:
	deploy/local/clean.sh

# Prometheus: Debian's promtool fetched on first use (deploy/prometheus/promtool.sh), then the
# shipped scrape config, rules and rule tests checked (make test runs the same checks)
promtool:
	deploy/prometheus/promtool.sh

prometheus-check: promtool
	cd deploy/prometheus && P="$$(./promtool.sh)" && "$$P" check config prometheus.yml && "$$P" test rules alerts_test.yml

migrate: venv
	$(BIN)/yidi db migrate

topics: venv
	$(BIN)/yidi topics apply

lint: venv
	$(BIN)/ruff check contracts events services tests
	$(BIN)/ruff format --check contracts events services tests

typecheck: venv
	$(BIN)/mypy contracts events services

unit: venv
	$(PYTEST) tests/unit -q

integration: up
	$(PYTEST) tests/integration -q

e2e: up browser
	$(PYTEST) tests/e2e -q

# DURATIONS: how many of the slowest setups and calls pytest lists (make test DURATIONS=60;
# docs/testing.md says where the time goes).
# tests/e2e/test_supervision.py runs a small day in `make test` (150 visits, one plant per
# pattern, two worker processes in the group) and the full one (400 visits, two per pattern)
# with one and with two worker processes in `make e2e-supervision`.
# the three-broker scenarios included (the test starts the cluster and stops it after), run
# beside the unit tests (tests/suite.sh says why); YIDI_FAULTS_CLUSTER=0 skips them on a
# machine that cannot hold three more brokers
DURATIONS ?= 15
test: up lint typecheck browser
	PYTEST="$(PYTEST)" DURATIONS=$(DURATIONS) tests/suite.sh

e2e-supervision: up
	YIDI_SUPERVISION_VISITS=400 YIDI_SUPERVISION_RATE=100 YIDI_SUPERVISION_MEMBERS=1,2 $(PYTEST) tests/e2e/test_supervision.py -q -s

# clearing and audit deductions at twice make test's traffic (make test: 250 and 150 visits a
# month; docs/testing.md)
e2e-clearing: up
	YIDI_E2E_CLEARING_VISITS=500 YIDI_E2E_DEDUCTIONS_VISITS=300 $(PYTEST) tests/e2e/test_clearing.py tests/e2e/test_deductions.py -q -s

demo: venv
	deploy/local/demo.sh

# the web dashboard on 127.0.0.1:8765 (logins: .run/dashboard/secrets/passwords.json)
dashboard: up
	$(BIN)/yidi dashboard serve

e2e-full: up
	YIDI_E2E_VISITS=10000 $(PYTEST) tests/e2e/test_pipeline.py -q -s

e2e-bad-input: up
	YIDI_BAD_INPUT_VISITS=21500 YIDI_BAD_INPUT_RATE=0.012 YIDI_BAD_INPUT_SEND_RATE=1500 $(PYTEST) tests/e2e/test_bad_input.py -q -s --timeout 1800

e2e-crash: up
	YIDI_CRASH_VISITS=20000 YIDI_CRASH_KILLS=8 YIDI_CRASH_RATE=1500 $(PYTEST) tests/e2e/test_crash_recovery.py -q -s

# issue 18: every fault scenario at full size: the zombie, PostgreSQL-outage and kill -9 scenarios
# on the single node (make test runs a smaller version of each), the transactional engine's broker
# tests, and the broker kills on the three-node cluster (tests/e2e/test_broker_faults.py: started
# here if it is not up, stopped afterwards; make test skips them unless the cluster is up).
# the two three-broker scenarios at make test's small size (the test starts and stops the cluster)
e2e-cluster: up
	YIDI_FAULTS_CLUSTER=1 $(PYTEST) tests/e2e/test_broker_faults.py -q -s

e2e-faults: up
	YIDI_FAULTS_VISITS=3000 YIDI_FAULTS_SECONDS=150 YIDI_FAULTS_KILLS=20 YIDI_FAULTS_PG_OUTAGE_S=30 YIDI_FAULTS_CLUSTER=1 $(PYTEST) tests/e2e/test_faults.py tests/integration/events/stream/test_transactions.py tests/e2e/test_broker_faults.py -q -s --timeout 2700

YIDI_FUZZ_DECODER_CASES ?= 100000
fuzz-decoder: venv
	YIDI_FUZZ_DECODER_CASES=$(YIDI_FUZZ_DECODER_CASES) $(PYTEST) tests/unit/events/wire/test_decoder_fuzz.py -q --hypothesis-show-statistics

# the fee uploads' fast reading against the contract, both processors (300 bodies each in make test)
fuzz-fee-lines: venv
	YIDI_FUZZ_FEE_LINES_CASES=20000 $(PYTEST) tests/unit/adjudication/test_fee_lines.py tests/unit/supervision/test_fee_lines.py -q -p no:cacheprovider --hypothesis-show-statistics

fuzz-engine: venv
	YIDI_FUZZ_CASES=1000000 $(PYTEST) tests/unit/events/stream/test_fuzz.py -q --hypothesis-show-statistics

bench-codec: venv
	$(BIN)/yidi bench codec

bench-signatures: venv
	$(BIN)/yidi bench signatures

# 10,000 single-partition topics on the local broker, then 32 per-region ones (docs/security.md)
bench-topics: up
	$(BIN)/yidi bench topics --count 10000

bench-adjudication: venv
	$(BIN)/yidi bench adjudication

bench-task: venv
	$(BIN)/yidi bench task

bench-pipeline: up
	deploy/local/bench-unsecured.sh
	$(BIN)/yidi bench pipeline --rates 1000,3000,0
	$(BIN)/yidi bench pipeline --adjudicators 2 --rates 0 --java-records 0

bench-clearing: up
	$(BIN)/yidi bench clearing-close --rows 1000000 --runs 3

recon-100k: up
	YIDI_RECON_ROWS=100000 YIDI_RECON_TRACE=0 $(PYTEST) tests/integration/recon/test_streaming.py -q -s
	YIDI_RECON_ROWS=100000 $(PYTEST) tests/integration/recon/test_streaming.py -q -s

bench-replay: up
	$(BIN)/yidi bench replay --runs 3
	$(BIN)/yidi bench replay --runs 3 --copies 5 --projection ledger:trusted --projection clearing:trusted

e2e-replay: up
	YIDI_E2E_REPLAY_VISITS=10000 $(PYTEST) tests/e2e/test_replay.py -q -s --timeout 900

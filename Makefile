# entractl — the README's commands live here.
CARGO ?= cargo

.PHONY: build test lint fmt check-fmt clippy

build:
	$(CARGO) build --workspace

## The whole test suite: formatting, lints, every test. `.ci/run` calls this.
test: check-fmt clippy
	$(CARGO) test --workspace --all-targets
	$(CARGO) test --workspace --doc

check-fmt:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

lint: check-fmt clippy

## The README's first command: plan and apply specs/kandji-passport.yaml against graph-emulator.
.PHONY: demo
demo:
	CARGO="$(CARGO)" ./scripts/demo.sh

# Quick start: `make demo` and `make test` work from a fresh clone.
# Everything here needs only cargo (and, from the Python issue on, python3).

CARGO ?= cargo

.PHONY: demo test lint bench doc clean

## Render an embedded example conversation; print its text and token ids.
demo:
	$(CARGO) run --quiet --release --example demo

## Every test: lint, unit/integration/property tests, the vectors, doctests.
test: lint
	$(CARGO) test --all-targets
	$(CARGO) test --doc

## Formatting and clippy, with and without the Python bindings.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --features python -- -D warnings

## Criterion benches (encoding load, encode, render, parse).
bench:
	$(CARGO) bench --bench encoding --bench parse

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

clean:
	$(CARGO) clean

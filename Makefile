# Quick start: `make demo` and `make test` work from a fresh clone.
# Everything here needs only cargo (and, from the Python issue on, python3).

CARGO ?= cargo

.PHONY: demo test lint bench fuzz doc clean

## Render an embedded example conversation (text and token ids), then parse sample completions.
demo:
	$(CARGO) run --quiet --release --example demo

## Every test: lint, rustdoc (warnings are errors), unit/integration/property tests, the vectors, doctests.
test: lint doc
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

## Fuzz the parser in both modes, FUZZ_SECONDS each (needs `cargo install cargo-fuzz`;
## RUSTC_BOOTSTRAP lets the stable toolchain take the sanitizer flags).
FUZZ_SECONDS ?= 600
fuzz:
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O parse_lenient -- -max_total_time=$(FUZZ_SECONDS)
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O parse_strict -- -max_total_time=$(FUZZ_SECONDS)

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

clean:
	$(CARGO) clean

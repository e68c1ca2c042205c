# Quick start: `make demo` and `make test` work from a fresh clone.
# They need cargo and python3 (with venv). The package is built once, as
# the wheel users get (`make dist`: maturin and zig from PyPI, in
# .venv-build), and .venv installs that wheel with no Rust on PATH.

CARGO ?= cargo
PYTHON ?= python3
VENV ?= .venv
VENV_PY := $(VENV)/bin/python
# What the installed package is built from: any change reinstalls it.
PACKAGE_SOURCES := $(shell find src python -type f -not -path '*/__pycache__/*' -not -name '*.so') \
	Cargo.toml build.rs pyproject.toml README.md

.PHONY: dist sdist-check wheels demo demo-rust package test lint rust-lint python-lint python rust-test python-test bench fuzz doc clean \
	diff-ref ref-suite reference bench-tokenizer xgrammar downstream llama

## `harmony demo`: render an embedded conversation (system, developer with two
## function tools, user, a tool call and its result), inspect it, then parse a
## sample completion. `make demo-rust` runs the same job through the Rust API.
demo: python
	$(VENV)/bin/harmony demo

demo-rust:
	$(CARGO) run --quiet --release --example demo

## Every test: lint (Rust and Python), rustdoc, the Rust tests and doctests,
## the Python tests, and the reference vectors through the Python package.
test: lint doc rust-test xgrammar python-test package sdist-check wheels diff-ref ref-suite

## The reference wheel, openai-harmony 0.0.8, in its own venv: a measuring
## peer for the differential tests, never imported by the package. It reads
## its vocabulary from ../shared/vocab (TIKTOKEN_ENCODINGS_BASE).
REF_VENV ?= .venv-ref
REF_VERSION := 0.0.8
SHARED ?= ../shared
reference: $(REF_VENV)/.installed

$(REF_VENV)/.installed:
	@echo "== installing the reference wheel openai-harmony==$(REF_VERSION) into $(REF_VENV) (differential peer)"
	test -x $(REF_VENV)/bin/python || $(PYTHON) -m venv $(REF_VENV)
	$(REF_VENV)/bin/python -m pip install -q "openai-harmony==$(REF_VERSION)"
	rm -rf $(REF_VENV)/sdist && mkdir -p $(REF_VENV)/sdist
	@echo "== fetching its sdist (for its test suite) from PyPI's index, checked against the index's sha256"
	$(PYTHON) tests/fetch_sdist.py openai-harmony $(REF_VERSION) $(REF_VENV)/sdist
	touch $@

## Differential harness: N seeded cases through both packages, every output
## compared exactly; differences must be listed in test-data/deviations.md.
N ?= 20000
diff-ref: python
	@if [ -d "$(SHARED)/vocab" ]; then \
		$(MAKE) --no-print-directory reference && \
		TIKTOKEN_ENCODINGS_BASE="$$(cd $(SHARED)/vocab && pwd)" $(VENV_PY) tests/differential/harness.py --ref $(REF_VENV)/bin/python -n $(N); \
	elif [ -n "$$HARMONY_REQUIRE_VECTORS" ]; then echo "diff-ref: $(SHARED)/vocab is missing (the reference needs it)"; exit 1; \
	else echo "diff-ref: SKIPPED, $(SHARED)/vocab is missing (the reference wheel needs it)"; fi

## The reference's own pytest suite (from its sdist), unchanged, against this package.
ref-suite: python
	@if [ -d "$(SHARED)/vocab" ]; then \
		$(MAKE) --no-print-directory reference && \
		cd $(REF_VENV)/sdist/openai_harmony-$(REF_VERSION) && \
		TIKTOKEN_ENCODINGS_BASE="$$(cd $(CURDIR)/$(SHARED)/vocab && pwd)" $(CURDIR)/$(VENV_PY) -m pytest -q -p no:cacheprovider tests/test_harmony.py; \
	elif [ -n "$$HARMONY_REQUIRE_VECTORS" ]; then echo "ref-suite: $(SHARED)/vocab is missing"; exit 1; \
	else echo "ref-suite: SKIPPED, $(SHARED)/vocab is missing"; fi

## Real servers' harmony code against this package (tests/downstream/): the
## pinned releases' wheels are fetched once into .downstream/ (about 800 MB),
## their harmony paths (chat and Responses, streamed token by token and
## whole) run over CORPUS with the reference wheel (ref), this package (off)
## and this package with OPENAI_HARMONY_PARSE=lenient (on); off must equal
## ref, on must raise nothing and give the intended output. Not in `make
## test`: it downloads the servers. The table is also in .downstream/last-table.md.
DOWNSTREAM_VLLM := 0.34.0
DOWNSTREAM_VLLM_OLD := 0.11.0
DOWNSTREAM_SGLANG := 0.5.23
DOWNSTREAM_LMDEPLOY := 0.18.0
CORPUS ?= test-data/parse/corpus.json
downstream: python reference
	@test -d "$(SHARED)/vocab" || { echo "downstream: $(SHARED)/vocab is missing (the reference wheel needs it)"; exit 1; }
	$(PYTHON) tests/downstream/run.py --corpus $(CORPUS) \
		--server vllm==$(DOWNSTREAM_VLLM) --server vllm==$(DOWNSTREAM_VLLM_OLD) \
		--server sglang==$(DOWNSTREAM_SGLANG) --server lmdeploy==$(DOWNSTREAM_LMDEPLOY) \
		--ref-python $(REF_VENV)/bin/python --ours-python $(VENV_PY) --vocab "$$(cd $(SHARED)/vocab && pwd)"

## The recorded vectors' summary (cargo hides what passing tests print) is
## collected in target/tmp/vector-report.txt and shown after the run.
rust-test:
	rm -f target/tmp/vector-report.txt
	$(CARGO) test --all-targets
	$(CARGO) test --doc
	@echo "== recorded vectors (../shared/vectors/public):"; cat target/tmp/vector-report.txt 2>/dev/null || echo "   no vector test ran"

## The Python tests, against the wheel installed in .venv, with no Rust
## toolchain on PATH.
python-test: python llama
	env PATH="$(NO_RUST_PATH)" HARMONY_NO_RUST_PATH_CHECK=1 HARMONY_REQUIRE_LLAMA=1 \
		HARMONY_XGRAMMAR_PYTHON="$(CURDIR)/$(XG_VENV)/bin/python" $(VENV_PY) -m pytest -q --durations=5

## llama.cpp itself for the grammar tests (tests/python/test_llama_cpp.py):
## llama-cpp-python builds it from source the first time (3m16s measured
## on two cores, 140 build steps, its progress printed every 30 s); pip keeps the
## wheel in its cache, so a new venv takes seconds. Only what the tests use
## is built: the CPU backend for any x86-64 (not -march=native), no curl,
## no multimodal library (LLAVA_BUILD=OFF; llama_cpp imports it lazily).
## A failed build fails `make test` (the tests are required, not skipped).
LLAMA_CPP_PYTHON := 0.3.36
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAMA_CURL=OFF -DLLAVA_BUILD=OFF
llama: $(VENV)/.llama-installed

$(VENV)/.llama-installed: | $(VENV)/.installed
	@echo "== installing llama-cpp-python==$(LLAMA_CPP_PYTHON) (builds llama.cpp from source the first time: 3 to 4 minutes on two cores)"
	mkdir -p .cache
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PYTHON) tests/progress.py "building llama.cpp" .cache/llama-build.log -- \
		$(VENV_PY) -m pip install -v "llama-cpp-python==$(LLAMA_CPP_PYTHON)"
	touch $@

## xgrammar in its own venv, for the structural-tag tests (test_grammar.py
## starts tests/python/xgrammar_check.py in it): xgrammar's grammar compiler
## and matcher (C++, through apache-tvm-ffi) with numpy and pydantic, about
## 125 MB. Not torch (about 6 GB with its CUDA libraries on PyPI) or
## transformers: xgrammar's Python layer imports them for token bitmasks and
## the Hugging Face integration, which the check does not use, and
## xgrammar_check.py gives it small placeholder modules for them.
XG_VENV ?= .venv-xg
XG_PACKAGES := xgrammar==0.2.9 apache-tvm-ffi==0.1.15.post2 numpy==2.4.6 pydantic==2.14.4 pydantic-core==2.50.5 \
	annotated-types==0.8.0 typing-inspection==0.4.5 typing-extensions==4.16.0
xgrammar: $(XG_VENV)/.installed

$(XG_VENV)/.installed:
	@echo "== installing xgrammar 0.2.9 without torch into $(XG_VENV) (about 125 MB) for the structural-tag tests"
	rm -rf $(XG_VENV) && $(PYTHON) -m venv $(XG_VENV)
	$(XG_VENV)/bin/python -m pip install -q --disable-pip-version-check --no-deps $(XG_PACKAGES)
	touch $@

lint: rust-lint python-lint

## Formatting and clippy, with and without the Python bindings.
rust-lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --features python -- -D warnings

## ruff, mypy (strict) and stubtest on the native module's .pyi.
python-lint: python
	$(VENV)/bin/ruff check python tests/python tests/differential tests/downstream tests/fetch_sdist.py tests/crate_files.py tests/progress.py
	$(VENV)/bin/ruff format --check python tests/python tests/differential tests/downstream tests/fetch_sdist.py tests/crate_files.py tests/progress.py
	$(VENV)/bin/mypy
	$(VENV_PY) -m mypy.stubtest openai_harmony._native

## The build tools, in their own venv: maturin, zig (ziglang, to link
## against glibc 2.17 whatever the build machine's glibc) and twine.
BUILD_VENV ?= .venv-build
BUILD_TOOLS := maturin==1.16.0 ziglang==0.15.2 twine==6.2.0
$(BUILD_VENV)/.installed:
	@echo "== installing the build tools into $(BUILD_VENV): $(BUILD_TOOLS)"
	test -x $(BUILD_VENV)/bin/python || $(PYTHON) -m venv $(BUILD_VENV)
	$(BUILD_VENV)/bin/python -m pip install -q --disable-pip-version-check $(BUILD_TOOLS)
	touch $@

## The wheel and the sdist, as they would be published, into dist/: the
## wheel is tagged manylinux2014 (glibc 2.17 and newer: every Linux x86_64
## distribution still supported; maturin links it with zig and checks the
## symbols it uses), one per CPython version (the extension uses CPython's
## list layout, so it is not abi3). `twine check --strict` checks both.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
WHEEL_PY := $(shell $(PYTHON) -c 'import sys; print("cp%d%d" % sys.version_info[:2])')
WHEEL := dist/harmony_codec-$(VERSION)-$(WHEEL_PY)-$(WHEEL_PY)-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
SDIST := dist/harmony_codec-$(VERSION).tar.gz
dist: $(WHEEL) $(SDIST)

$(WHEEL): $(PACKAGE_SOURCES) | $(BUILD_VENV)/.installed
	@echo "== building the wheel with maturin (cargo build --release, linked by zig for manylinux2014): a few minutes on two cores"
	rm -f dist/harmony_codec-*.whl
	PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" $(BUILD_VENV)/bin/maturin build --release --zig \
		--compatibility manylinux2014 --interpreter $(PYTHON) --out dist
	test -f $@ || { echo "dist: maturin did not write $@"; ls dist; exit 1; }
	$(BUILD_VENV)/bin/twine check --strict $@

$(SDIST): $(PACKAGE_SOURCES) | $(BUILD_VENV)/.installed
	rm -f dist/harmony_codec-*.tar.gz
	$(BUILD_VENV)/bin/maturin sdist --out dist
	$(BUILD_VENV)/bin/twine check --strict $@

## The wheels of the other CPython versions this machine has (3.9 to 3.13,
## on PATH or under pyenv), into dist/, each then installed in a venv of
## its Python, with no Rust on PATH, and run (`harmony demo`, a render and
## a parse): requires-python says 3.9+, and this checks it. A version
## this machine lacks is named and left out.
OTHER_PYTHONS := $(strip $(foreach v,3.9 3.10 3.12 3.13,$(firstword $(wildcard $(HOME)/.pyenv/versions/$(v).*/bin/python$(v)) $(shell command -v python$(v) 2>/dev/null))))
wheels: dist/.other-wheels

dist/.other-wheels: $(WHEEL) | $(BUILD_VENV)/.installed
	@if [ -z "$(OTHER_PYTHONS)" ]; then echo "wheels: no CPython 3.9, 3.10, 3.12 or 3.13 here; only $(WHEEL_PY) is built"; exit 0; fi; \
	echo "== wheels for $(OTHER_PYTHONS)"; \
	mkdir -p .cache && PATH="$(CURDIR)/$(BUILD_VENV)/bin:$$PATH" $(PYTHON) tests/progress.py "building the wheels" \
		.cache/wheels-build.log -- $(BUILD_VENV)/bin/maturin build --release --zig --compatibility manylinux2014 \
		$(foreach p,$(OTHER_PYTHONS),-i $(p)) --out dist || exit 1; \
	for p in $(OTHER_PYTHONS); do \
		tag=$$($$p -c 'import sys; print("cp%d%d" % sys.version_info[:2])'); \
		rm -rf .venv-wheel-$$tag && $$p -m venv .venv-wheel-$$tag && \
		env PATH="$(NO_RUST_PATH)" .venv-wheel-$$tag/bin/python -m pip install -q --disable-pip-version-check \
			dist/harmony_codec-$(VERSION)-$$tag-$$tag-manylinux2014_x86_64.manylinux_2_17_x86_64.whl && \
		(cd /tmp && env PATH="$(NO_RUST_PATH)" $(CURDIR)/.venv-wheel-$$tag/bin/harmony demo --no-color > /dev/null) && \
		echo "wheels: $$tag installs without Rust and runs harmony demo" || exit 1; \
	done; \
	touch $@

## PATH without a Rust toolchain: the wheel is installed and tested as a
## user without Rust gets it.
NO_RUST_PATH := $(shell printf '%s' "$$PATH" | tr ':' '\n' | grep -v -e '\.cargo' -e rustup | paste -sd: -)

## .venv: the wheel from `make dist`, installed with its extras, no Rust on
## PATH (reinstalled when the sources change).
python: $(VENV)/.installed

$(VENV)/.installed: $(WHEEL)
	@echo "== creating $(VENV) and installing the wheel into it, with no Rust toolchain on PATH"
	test -x $(VENV_PY) || $(PYTHON) -m venv $(VENV)
	@echo "== upgrading pip"
	$(VENV_PY) -m pip install -q --upgrade pip
	@echo "== pip install $(WHEEL)[dev,server,datasets,ray]: pytest, mypy, ruff, llguidance, playwright, starlette, uvicorn, pyarrow, datasets, ray"
	@# A .venv from before the rename holds this package as openai-harmony: removed first.
	$(VENV_PY) -m pip uninstall -q -y openai-harmony 2>/dev/null || true
	env PATH="$(NO_RUST_PATH)" $(VENV_PY) -m pip install -q --force-reinstall --no-deps "$(WHEEL)"
	mkdir -p .cache
	$(PYTHON) tests/progress.py "installing the extras" .cache/pip-venv.log -- \
		env PATH="$(NO_RUST_PATH)" $(VENV_PY) -m pip install "$(WHEEL)[dev,server,datasets,ray]"
	@echo "== $(VENV) is ready"
	touch $@

## The sdist builds and installs (in .venv-sdist, with a quick build
## profile: this checks the sdist is complete, not the optimizer), then
## renders and parses through the installed package.
SDIST_VENV ?= .venv-sdist
sdist-check: $(SDIST)
	@echo "== building and installing $(SDIST) in $(SDIST_VENV) (cargo, unoptimized: about a minute)"
	rm -rf $(SDIST_VENV) && $(PYTHON) -m venv $(SDIST_VENV)
	CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
		CARGO_TARGET_DIR="$(CURDIR)/target/sdist" $(SDIST_VENV)/bin/python -m pip install -q "$(SDIST)"
	cd /tmp && $(CURDIR)/$(SDIST_VENV)/bin/harmony demo --no-color > /dev/null
	cd /tmp && $(CURDIR)/$(SDIST_VENV)/bin/python -c "import importlib.metadata as m, openai_harmony as h; \
		assert m.version('harmony-codec') == h.__version__; print('sdist: harmony-codec', h.__version__, 'installs and runs')"

## Criterion benches (encoding load, encode, render, parse), then the Python
## workloads (median of 3), the grammar bench, `harmony tokenize` with 1
## and 2 workers, the server (req/s, p50/p99, against the http.server
## one it replaced), and llama.cpp's cost of our grammars per token. REF_PYTHON=path/to/venv/bin/python (a venv with
## openai-harmony==0.0.8) adds the reference and the ratios, and writes the
## figures into docs/figures.json and the docs.
bench: python
	$(CARGO) bench --bench encoding --bench parse
	$(VENV_PY) benches/compare.py --ours $(VENV_PY) $(if $(REF_PYTHON),--ref $(REF_PYTHON) --figures)
	$(VENV_PY) benches/grammar_bench.py
	$(VENV_PY) benches/tokenize_bench.py
	$(VENV_PY) benches/server_bench.py $(if $(REF_PYTHON),--figures)
	$(MAKE) --no-print-directory llama && $(VENV_PY) benches/llama_grammar_bench.py
	$(VENV_PY) benches/figures.py

## Our encode against bpe-openai's encode_ordinary (PyPI `bpe-openai`, in its
## own venv), side by side, identical tokens required.
BPE_VENV ?= .venv-bpe
bench-tokenizer: python
	test -x $(BPE_VENV)/bin/python || $(PYTHON) -m venv $(BPE_VENV)
	$(BPE_VENV)/bin/python -c "import bpe_openai" 2>/dev/null || $(BPE_VENV)/bin/python -m pip install -q bpe-openai
	$(VENV_PY) benches/tokenizer_compare.py --ours $(VENV_PY) --bpe $(BPE_VENV)/bin/python --figures
	$(VENV_PY) benches/figures.py

## Fuzz the parser in both modes and the tokenizer against tiktoken-rs,
## FUZZ_SECONDS each (needs `cargo install cargo-fuzz`; RUSTC_BOOTSTRAP lets
## the stable toolchain take the sanitizer flags).
FUZZ_SECONDS ?= 600
fuzz:
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O parse_lenient -- -max_total_time=$(FUZZ_SECONDS)
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O parse_strict -- -max_total_time=$(FUZZ_SECONDS)
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run -O tokenizer_diff -- -max_total_time=$(FUZZ_SECONDS) -max_len=2048

doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

## The crate as it would be published: `cargo publish --dry-run` packages
## it and builds it from the package; tests/crate_files.py checks what the
## package holds; the package's own unit tests and doctests run from it.
package:
	$(CARGO) package --list --allow-dirty | $(PYTHON) tests/crate_files.py
	$(CARGO) publish --dry-run --allow-dirty --quiet
	cd target/package/harmony-codec-$(VERSION) && CARGO_TARGET_DIR="$(CURDIR)/target" $(CARGO) test --quiet --lib && \
		CARGO_TARGET_DIR="$(CURDIR)/target" $(CARGO) test --quiet --doc

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(REF_VENV) $(BUILD_VENV) $(SDIST_VENV) $(XG_VENV) .venv-wheel-* dist

# pgstack: the README names these targets. `make up` and `make test` install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
JOBS ?= $(shell nproc)
CTEST_FLAGS = --output-on-failure -j $(JOBS)

.PHONY: deps build build-asan test test-release test-asan fuzz fuzz-targets fuzz-smoke up down lint format bench-tuning bench-ha clean

deps:
	@scripts/install-deps

build: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# Only the unit tests: the sanitizers run over pure logic; servers are exercised by the release build.
build-asan: deps
	cmake --preset debug-asan >/dev/null
	cmake --build --preset debug-asan -j $(JOBS) --target unit_tests

# Everything under the release build, the unit tests again under ASan+UBSan, then a fixed libFuzzer pass.
test: test-release test-asan fuzz-smoke

test-release: build
	ctest --test-dir build $(CTEST_FLAGS)

test-asan: build-asan
	ctest --test-dir build-asan -L unit $(CTEST_FLAGS)

fuzz-targets: deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target manifest_fuzzer pgwire_fuzzer proxy_session_fuzzer rest_request_fuzzer

# What `make test` runs: a fixed seed and run count from the checked-in corpus, so a result is
# reproducible (a finding here is found again on every machine). `make fuzz` explores for longer.
# The proxy's session fuzzer runs a real proxy over loopback (about 140 inputs a second): fewer runs.
# The REST request fuzzer validates what it decodes (200-400 inputs a second): fewer runs too.
FUZZ_RUNS ?= 20000
PROXY_FUZZ_RUNS ?= 3000
REST_FUZZ_RUNS ?= 3000
fuzz-smoke: fuzz-targets
	for target in manifest pgwire proxy_session rest_request; do \
	  runs=$(FUZZ_RUNS); if [ $$target = proxy_session ]; then runs=$(PROXY_FUZZ_RUNS); fi; \
	  if [ $$target = rest_request ]; then runs=$(REST_FUZZ_RUNS); fi; \
	  rm -rf build-fuzz/smoke-$$target && mkdir -p build-fuzz/smoke-$$target; \
	  build-fuzz/bin/$${target}_fuzzer -seed=1 -runs=$$runs -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 build-fuzz/smoke-$$target tests/fuzz/corpus/$$target 2>&1 | tail -n 4; \
	done

FUZZ_SECONDS ?= 120
fuzz: fuzz-targets
	for target in manifest pgwire proxy_session rest_request; do \
	  mkdir -p build-fuzz/corpus-$$target; \
	  build-fuzz/bin/$${target}_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	    -print_final_stats=1 build-fuzz/corpus-$$target tests/fuzz/corpus/$$target 2>&1 | tail -n 6; \
	done

# Starts etcd, the controller and the agent in the background and brings the 3-member cluster `demo`
# to ready; running it again changes nothing. `make down` stops everything and keeps the data.
up: build
	build/bin/pgstack up

down:
	build/bin/pgstack down

LINT_SOURCES = $(shell git ls-files 'src/*.cpp' 'src/*.h' 'apps/*.cpp' 'tests/*.cpp' 'tests/*.h')
lint: build
	clang-format --dry-run -Werror $(LINT_SOURCES)
	run-clang-tidy -quiet -p build $(shell git ls-files 'src/*.cpp' 'apps/*.cpp')

format:
	clang-format -i $(LINT_SOURCES)

bench-tuning: build
	bench/tuning/run

bench-ha: build
	bench/ha/run

clean:
	rm -rf build build-asan build-fuzz

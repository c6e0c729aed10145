# pgstack: the README names these targets. `make up` and `make test` install what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eo pipefail -c
JOBS ?= $(shell nproc)
CTEST_FLAGS = --output-on-failure -j $(JOBS)
# `make test` runs one test more than there are cores: its integration tests mostly wait on servers. On
# this 2-core machine the tests that are not RUN_SERIAL took 626 s at -j 3 against about 745 s at -j 2,
# the cores still 10% idle (docs/benchmarks.md, "make test"). The RUN_SERIAL ones still run alone.
TEST_JOBS ?= $(shell echo $$(( $$(nproc) * 3 / 2 )))
# CI=1 (.ci/run sets it) turns compiler warnings into errors in every build below.
WERROR = $(if $(filter 1 true yes on ON,$(CI)),ON,OFF)
# What `pgstack up` runs (it starts the controller and the agent; the agent starts the proxy and has
# Postgres archive WAL with pgstack-wal-push): `make up` builds these and not the tests.
RUNTIME_TARGETS = pgstack pgstack-controller pgstack-agent pgstack-proxy pgstack-wal-push

.PHONY: deps configure configure-lint configure-lint-unity configure-asan configure-tsan configure-fuzz build build-runtime build-asan build-tsan \
        build-sanitizers test test-release test-sanitizers test-asan test-tsan fuzz fuzz-targets \
        fuzz-smoke up down lint lint-changed format bench-tuning bench-tuning-workloads bench-ha bench-monitoring bench-logs bench-console clean

deps:
	@scripts/install-deps

configure: deps
	cmake --preset release -DPGSTACK_WERROR=$(WERROR) >/dev/null

build: configure
	cmake --build --preset release -j $(JOBS)

build-runtime: configure
	cmake --build --preset release -j $(JOBS) --target $(RUNTIME_TARGETS)

# Only the unit tests: the sanitizers run over pure logic; servers are exercised by the release build.
configure-asan: deps
	cmake --preset debug-asan -DPGSTACK_WERROR=$(WERROR) >/dev/null

build-asan: configure-asan
	cmake --build --preset debug-asan -j $(JOBS) --target unit_tests

# Everything under the release build: the unit, integration and end-to-end tests. The sanitizer passes
# (the unit tests under ASan+UBSan, a fixed libFuzzer pass, the threaded parts under TSan) are
# `make test-sanitizers`, which .ci/run runs after `make test`.
test: test-release

test-release: build
	ctest --test-dir build --output-on-failure -j $(TEST_JOBS)

# The three sanitizer trees (what `make test-sanitizers` runs).
build-sanitizers: build-asan fuzz-targets build-tsan

test-sanitizers: test-asan fuzz-smoke test-tsan

test-asan: build-asan
	ctest --test-dir build-asan -L unit $(CTEST_FLAGS)

# The tests of the threaded parts (proxy, etcd watches, the REST API, the HTTP server) under
# ThreadSanitizer.
configure-tsan: deps
	cmake --preset tsan -DPGSTACK_WERROR=$(WERROR) >/dev/null

build-tsan: configure-tsan
	cmake --build --preset tsan -j $(JOBS) --target threaded_tests

TSAN_OPTIONS ?= halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp
test-tsan: build-tsan
	TSAN_OPTIONS="$(TSAN_OPTIONS)" ctest --test-dir build-tsan -L '^(threaded_unit|threaded_integration)$$' $(CTEST_FLAGS)

FUZZ_TARGETS = manifest_fuzzer pgwire_fuzzer proxy_session_fuzzer rest_request_fuzzer
configure-fuzz: deps
	cmake --preset fuzz >/dev/null

fuzz-targets: configure-fuzz
	cmake --build --preset fuzz -j $(JOBS) --target $(FUZZ_TARGETS)

# What `make test-sanitizers` runs: a fixed seed and run count from the checked-in corpus, so a result is
# reproducible (a finding here is found again on every machine). `make fuzz` explores for longer.
# Inputs a second in a fresh clone's CI run (2026-12-05): manifest 141 (it parses YAML and validates),
# pgwire 2000, proxy_session 62 (a real proxy over loopback), rest_request 300. The counts keep each
# under a minute.
FUZZ_RUNS ?= 6000
PROXY_FUZZ_RUNS ?= 3000
REST_FUZZ_RUNS ?= 3000
fuzz-smoke: fuzz-targets
	for target in manifest pgwire proxy_session rest_request; do \
	  runs=$(FUZZ_RUNS); if [ $$target = proxy_session ]; then runs=$(PROXY_FUZZ_RUNS); fi; \
	  if [ $$target = rest_request ]; then runs=$(REST_FUZZ_RUNS); fi; \
	  rm -rf build-fuzz/smoke-$$target && mkdir -p build-fuzz/smoke-$$target; \
	  log=build-fuzz/smoke-$$target.log; \
	  if build-fuzz/bin/$${target}_fuzzer -seed=1 -runs=$$runs -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
	      -print_final_stats=1 -artifact_prefix=build-fuzz/ build-fuzz/smoke-$$target tests/fuzz/corpus/$$target \
	      > $$log 2>&1; then \
	    tail -n 4 $$log; \
	  else \
	    status=$$?; echo "$$target fuzzer failed ($$status); from $$log:"; \
	    grep -m1 -B3 -A30 -E 'ERROR|_fuzzer: ' $$log || tail -n 60 $$log; \
	    exit $$status; \
	  fi; \
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
up: build-runtime
	build/bin/pgstack up

down:
	build/bin/pgstack down

# clang-tidy needs only the compile commands (configure), not a build. `make lint` runs it over the unity
# batches of the lint-unity preset (src/ and apps/ in about 45 translation units instead of 180: the
# headers are parsed and matched once per batch, about a third of the CPU; docs/benchmarks.md). The
# batches' .cpp files are included files to clang-tidy: the header filter names src/ and apps/, and
# bugprone-suspicious-include (which flags exactly those includes) is off here. `make lint-changed`
# checks changed files one by one (the lint preset), so a file that leans on another's includes fails
# there.
LINT_SOURCES = $(shell git ls-files 'src/*.cpp' 'src/*.h' 'apps/*.cpp' 'tests/*.cpp' 'tests/*.h')
configure-lint: deps
	cmake --preset lint >/dev/null

configure-lint-unity: deps
	cmake --preset lint-unity >/dev/null

lint: configure-lint-unity
	clang-format --dry-run -Werror $(LINT_SOURCES)
	run-clang-tidy -quiet -j $(JOBS) -p build-lint-unity -checks=-bugprone-suspicious-include \
	  -header-filter='/(src|apps)/' -extra-arg=-Wno-unknown-warning-option \
	  'build-lint-unity/(src|apps)/.*/Unity/unity_[0-9]+_cxx[.]cxx$$' '/src/pgwire/[^/]+[.]cpp$$'

# Files changed (committed or not) since the merge base with LINT_BASE; a changed header brings in the
# .cpp of the same name. Quick, not complete: a header's other includers are left to `make lint`.
LINT_BASE ?= main
lint-changed: configure-lint
	base=$$(git merge-base $(LINT_BASE) HEAD); \
	changed=$$(git diff --name-only --diff-filter=d $$base -- 'src/*.cpp' 'src/*.h' 'apps/*.cpp' 'tests/*.cpp' 'tests/*.h'); \
	if [ -z "$$changed" ]; then echo "nothing changed since $(LINT_BASE)"; exit 0; fi; \
	clang-format --dry-run -Werror $$changed; \
	tidy=$$(for f in $$changed; do case $$f in src/*.cpp|apps/*.cpp) echo $$f;; src/*.h) if [ -f $${f%.h}.cpp ]; then echo $${f%.h}.cpp; fi;; esac; done | sort -u); \
	if [ -n "$$tidy" ]; then run-clang-tidy -quiet -j $(JOBS) -p build-lint $$tidy; fi

format:
	clang-format -i $(LINT_SOURCES)

bench-tuning: build
	bench/tuning/run

bench-tuning-workloads: build
	bench/tuning/workloads

bench-ha: build
	bench/ha/run

bench-monitoring: build-runtime
	bench/monitoring/run

bench-logs: build
	bench/logs/run

bench-console: build
	bench/console/run

clean:
	rm -rf build build-asan build-tsan build-fuzz build-lint build-lint-unity

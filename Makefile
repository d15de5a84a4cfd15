# Two commands on a fresh Debian 12 machine:
#   make demo   install what is missing, build, run chatglmd against the bundled simulator
#   make test   install what is missing, build, run every test (C++ and the Node/browser e2e)
SHELL := /bin/bash
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
WERROR := $(if $(CI),ON,OFF)

DEB_PACKAGES := build-essential cmake ninja-build pkg-config ccache git \
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libfmt-dev libspdlog-dev libsqlite3-dev sqlite3 libssl-dev ca-certificates libpq-dev postgresql \
  libgtest-dev libgmock-dev libbenchmark-dev libsystemd-dev systemd \
  clang-format chromium fonts-wqy-microhei \
  dpkg-dev lintian groff-base prometheus \
  clang libclang-rt-14-dev python3-cryptography
E2E_DIRS := tests/e2e/alipay tests/e2e

.PHONY: all deps bench-deps configure build test test-cpp test-e2e demo bench clean deb test-package \
  soak soak-deps fuzz fuzz-merge fuzz-seeds test-asan test-tsan

all: build

# Idempotent and non-interactive: only missing packages are installed. Node and npm count as
# present when the commands exist (a machine may have them from elsewhere than Debian).
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	command -v node > /dev/null && command -v npm > /dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCHATGLMD_WERROR=$(WERROR)

configure: deps $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	$(MAKE) --no-print-directory test-cpp test-e2e

# web_test runs the page's jsdom tests too (sanitiser, page logic): jsdom from web/test's lockfile.
test-cpp:
	cd web/test && npm ci --no-audit --no-fund --loglevel=error
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 600

# Real public clients: alipay-sdk, openai, eventsource-parser, a ChatGLM SDK and Chromium.
test-e2e:
	@for d in $(E2E_DIRS); do \
	  if [ -f $$d/package-lock.json ]; then \
	    (cd $$d && npm ci --no-audit --no-fund --loglevel=error) || exit 1; \
	  fi; \
	done
	CHATGLMD_BUILD_DIR=$(abspath $(BUILD)) bash tests/e2e/run.sh

demo: build
	bash tests/sim/demo.sh $(abspath $(BUILD))

# The benchmarks' peers (bench/README in the top README's "Benchmarks"): installed only for
# make bench, the same idempotent way as deps.
BENCH_PACKAGES := nginx-light wrk
bench-deps:
	@missing=""; for p in $(BENCH_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

bench: build bench-deps
	bash bench/run.sh $(abspath $(BUILD))

# Not in CI: SOAK_MINUTES (default 30) of mixed load, then the kill storm at scale
# (tests/soak/run.sh; CSV, summary and PNG in $(BUILD)/soak). gnuplot only for this target.
soak-deps:
	@dpkg-query -W -f='$${Status}' gnuplot-nox 2>/dev/null | grep -q "install ok installed" || \
	  { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gnuplot-nox; }

soak: build soak-deps
	bash tests/soak/run.sh $(abspath $(BUILD))

# chatglmd_<version>_amd64.deb in $(BUILD), packed by CPack from this build (packaging/deb.cmake).
deb: build
	rm -f $(BUILD)/chatglmd_*.deb
	cd $(BUILD) && cpack -G DEB
	@ls $(BUILD)/chatglmd_*_amd64.deb

# Installs, upgrades and purges the package on this machine: only as root and when asked
# (CHATGLMD_PACKAGE_TEST=1, which .ci/run sets). tests/package/run.sh says what it checks.
test-package: deb
	@if [ "$${CHATGLMD_PACKAGE_TEST:-0}" != 1 ]; then \
	  echo "test-package: skipped (set CHATGLMD_PACKAGE_TEST=1, as root: it installs and purges the package)"; \
	else \
	  $(SUDO) env -u CHATGLMD_PACKAGE_TEST bash tests/package/run.sh $(abspath $(BUILD)); \
	fi

# libFuzzer targets (tests/fuzz, clang with ASan+UBSan) in their own build dir, each run for
# FUZZ_SECONDS; a crash becomes tests/fuzz/corpus/<target>/regression-* and fails the run.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
$(FUZZ_BUILD)/build.ninja:
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=clang++ -DCHATGLMD_FUZZ=ON

fuzz: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Minimises the committed corpora with what `make fuzz` found (libFuzzer -merge=1).
fuzz-merge: deps $(FUZZ_BUILD)/build.ninja
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/merge.sh $(FUZZ_BUILD)

# Re-captures the simulator's answers, streams and notifies into the seed corpora.
fuzz-seeds: build
	python3 tests/fuzz/capture_seeds.py $(BUILD)

# The whole ctest suite under AddressSanitizer+UndefinedBehaviorSanitizer (gcc, build-asan; the
# build leaves out the benchmarks, the soak and the fuzz replays, see CMakeLists.txt).
# tests/sanitizers/run_ctest.sh sends every report to a file and fails on any, also one from a
# daemon a test started. ASAN_EXCLUDE: a ctest regex of tests left out (README says which, why).
ASAN_BUILD ?= build-asan
ASAN_EXCLUDE ?= ^$$
$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATGLMD_WERROR=$(WERROR) \
	  -DCHATGLMD_SANITIZE=ON

test-asan: deps $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	bash tests/sanitizers/run_ctest.sh $(ASAN_BUILD) address --output-on-failure -j $(JOBS) \
	  --timeout 1200 -E '$(ASAN_EXCLUDE)'

# The concurrency-heavy tests under ThreadSanitizer (gcc, build-tsan): the HTTP server, client and
# handlers (chat starts and give-backs through the group commit), the ChatGLM client, the jobs,
# the store, the word filter and its reload, and the daemon's chat streams, notifies (through the
# group commit), stop and signals.
TSAN_BUILD ?= build-tsan
TSAN_TESTS ?= ^(http_server_test|http_hostile_input_test|http_client_test|http_handlers_test|chatglm_client_test|jobs_.*|store_test|filter_test|app_filter_reloader_test|daemon_chat_stream_test|daemon_chat_filter_test|daemon_notify_test|daemon_stop_test|daemon_signals_test)$$
$(TSAN_BUILD)/build.ninja:
	cmake -S . -B $(TSAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCHATGLMD_WERROR=$(WERROR) \
	  -DCHATGLMD_SANITIZE=thread

# Only what those tests run is built (each test is the target of its name, the daemon tests run
# chatglmd and chatglmd-sim).
test-tsan: deps $(TSAN_BUILD)/build.ninja
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target chatglmd chatglmd-sim \
	  $$(cd $(TSAN_BUILD) && ctest -N -R '$(TSAN_TESTS)' | awk '/Test +#/ { print $$3 }')
	bash tests/sanitizers/run_ctest.sh $(TSAN_BUILD) thread --output-on-failure -j $(JOBS) \
	  --timeout 1200 -R '$(TSAN_TESTS)'

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD) $(ASAN_BUILD) $(TSAN_BUILD)

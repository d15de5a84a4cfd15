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
  libfmt-dev libspdlog-dev libsqlite3-dev sqlite3 libssl-dev ca-certificates \
  libgtest-dev libgmock-dev libbenchmark-dev libsystemd-dev systemd \
  clang-format chromium fonts-wqy-microhei \
  dpkg-dev lintian groff-base prometheus
E2E_DIRS := tests/e2e/alipay tests/e2e

.PHONY: all deps bench-deps configure build test test-cpp test-e2e demo bench clean deb test-package

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

test-cpp:
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

clean:
	rm -rf $(BUILD)

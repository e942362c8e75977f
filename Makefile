# eventshop - the two commands a newcomer needs:
#   make run    build everything and start the system
#   make test   build everything and run every test
# Both install what they need first (scripts/install-deps).

BUILD_DIR ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_TYPE ?= RelWithDebInfo
# CI builds treat warnings as errors.
WERROR := $(if $(CI),ON,OFF)
CMAKE_FLAGS ?=

.PHONY: all deps configure build test run bench format clean help

all: build

help:
	@echo "make run      build and start the system"
	@echo "make test     build and run every test (ctest)"
	@echo "make bench    run the benchmarks, write bench-results.json and bench-results.md"
	@echo "make format   clang-format the sources"

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DEVENTSHOP_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

run: build
	@$(BUILD_DIR)/examples/quickstart/eventshop-quickstart

bench:
	@benchmarks/run

format:
	@git ls-files '*.hpp' '*.cpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)

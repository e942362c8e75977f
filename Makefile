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
# Let ccache share results between clones in different directories (CI builds a fresh clone).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1

.PHONY: all deps configure build test run bench format clean help \
        run-local stop-local logs-local run-six run-six-kafka loadgen test-order test-inventory test-status health-check open-frontend

all: build

help:
	@echo "make run            build and start the system (= run-local), print the URLs"
	@echo "make test           build and run every test (ctest)"
	@echo "make stop-local     stop the system;  make logs-local: follow its logs"
	@echo "make test-order     create an order;  test-inventory, test-status, health-check"
	@echo "make bench          run the benchmarks, write bench-results.json and bench-results.md"
	@echo "make format         clang-format the sources"

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DEVENTSHOP_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS) --timeout 600

run: run-local

# The original system's targets (its docker-compose is replaced by one process).
run-local: build
	@BUILD_DIR=$(abspath $(BUILD_DIR)) scripts/run-local.sh

stop-local:
	@scripts/stop-local.sh

logs-local:
	@tail -n 50 -f data/eventshop-ecommerce.log

test-order:
	@scripts/http.sh POST http://localhost:8080/order '{"product_id":"product-1","quantity":2}'

test-inventory:
	@scripts/http.sh GET http://localhost:8081/inventory

test-status:
	@scripts/http.sh GET http://localhost:8085/orders

health-check:
	@for port in 8080 8081 8082 8083 8084 8085; do \
	  printf '%s ' $$port; scripts/http.sh GET http://localhost:$$port/health 2>/dev/null || echo "down"; \
	done

# More ways to run it: six processes on SQLite or on the Kafka dev broker; a load test.
run-six:
	@scripts/run-six-sqlite.sh

run-six-kafka:
	@scripts/run-six-kafka.sh

loadgen:
	@$(BUILD_DIR)/examples/ecommerce/eventshop-loadgen --orders 5000 --rate 2000

open-frontend:
	@echo "open http://localhost:3000"; (xdg-open http://localhost:3000 >/dev/null 2>&1 || true)

bench:
	@benchmarks/run

format:
	@git ls-files '*.hpp' '*.cpp' | xargs clang-format -i

clean:
	@rm -rf $(BUILD_DIR)

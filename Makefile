# The README's commands. Everything real lives in CMake (CMakeLists.txt) and scripts/.
#   make run    install deps, build, train the example model if missing, serve it on :8080
#   make test   install deps, check format, build plain and with ASan+UBSan, run every test on both
#   make bench  benchmarks against peers (figures, not tests): bench/README.md
#   make fuzz   run every fuzz driver under libFuzzer (FUZZ_SECONDS each, default 60)
#   make conformance  build, then run the ONNX node tests (libonnx-testdata): passed/attempted/total
#   make clean  remove build trees

BUILD      ?= build
JOBS       ?= $(shell nproc)
PORT       ?= 8080
HOST       ?= 127.0.0.1
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build run test bench fuzz format check-format clean conformance

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@cmake --build $(BUILD) --target fraud-detector-model -j $(JOBS)
	@scripts/run-example $(BUILD) $(HOST) $(PORT)

test: deps
	@scripts/test-all

bench: build
	@bench/run-all $(BUILD)

fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz-all

conformance: build
	@$(BUILD)/tests/conformance_onnx_node_tests

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@scripts/check-format

clean:
	rm -rf build build-asan build-fuzz

# Top-level entry points: `make demo` and `make test` do all set-up on a fresh Debian 12 machine.
# Not the build itself: that is CMake (CMakeLists.txt); this file only sequences set-up, build and runs.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all setup build test demo bench clean

all: build

setup:
	bash scripts/setup.sh

build: setup
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD_DIR)

bench: build
	bash bench/run_embed_bench.sh $(BUILD_DIR)
	bash bench/run_train_bench.sh $(BUILD_DIR)
	bash bench/run_eval_bench.sh $(BUILD_DIR)
	bash bench/run_mine_bench.sh $(BUILD_DIR)
	bash bench/run_tokenizer_bench.sh $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)

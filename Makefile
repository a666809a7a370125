# GILLab: the two commands a new user needs are `make demo` and `make test`.
# Every target first makes sure OpenBLAS is installed, since a fresh Debian machine lacks it.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test stress tsan asan fuzz docs bench deps clean

## demo: release build, the showcase (`gillab` with no arguments), then a report folder in
## gillab-report/ (report.md, SVG charts, a Perfetto trace, the JSON)
demo: deps
	$(SWIFT) build -c release --product gillab
	.build/release/gillab
	.build/release/gillab report --out gillab-report --workload gemm --size 256 --threads 1,2

## test: the arrows of the house (scripts/check_arrows.py), then the test suite (Swift Testing)
test: deps
	python3 scripts/check_arrows.py
	$(SWIFT) test

## stress: the lock stress tests at full weight: 64 threads × 100,000 acquisitions per policy
stress: deps
	GILLAB_STRESS_ACQUISITIONS=100000 $(SWIFT) test --filter StressTests

## tsan: the test suite under ThreadSanitizer, in its own build folder (stress at 64 × 2,000)
tsan: deps
	GILLAB_STRESS_ACQUISITIONS=2000 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

## asan: the test suite under AddressSanitizer and LeakSanitizer, in its own build folder
# --disable-xctest: XCTest's runner does not start under ASan on this toolchain.
# The suppression file names one leak inside Foundation's Process, none in GILLab.
asan: deps
	GILLAB_STRESS_ACQUISITIONS=2000 LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp $(SWIFT) test --sanitize=address --disable-xctest --scratch-path .build-asan

## fuzz: libFuzzer with AddressSanitizer, FUZZ_SECONDS (60) per harness, from the committed seed
## corpora; new inputs go to a scratch folder, not the corpus. Two harnesses: the C kernels'
## argument checks (clang), and the interpreter's program loader (GILLab built with
## -sanitize=fuzzer and coverage, linked with Tests/Fuzz/FuzzParse.swift).
FUZZ_SECONDS ?= 60
FUZZ_DIR := .build-fuzz
FUZZ_SWIFT := $(FUZZ_DIR)/swift
fuzz: deps
	mkdir -p $(FUZZ_DIR)/corpus-args $(FUZZ_DIR)/corpus-parse
	clang -g -O1 -fsanitize=fuzzer,address -fuse-ld=lld -ICKernels/include $$(pkg-config --cflags openblas) \
		CKernels/fuzz/ck_fuzz_args.c CKernels/src/*.c $$(pkg-config --libs openblas) -lm -o $(FUZZ_DIR)/ck_fuzz_args
	OPENBLAS_NUM_THREADS=1 $(FUZZ_DIR)/ck_fuzz_args -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-args CKernels/fuzz/corpus/args
	# Our modules' objects are rebuilt each time: the link below takes every object file it
	# finds, so one left from a renamed source would be linked twice.
	if [ -d $(FUZZ_SWIFT)/debug ]; then find $(FUZZ_SWIFT)/debug/ -path '*GILLab*.build/*.o' -delete; fi
	$(SWIFT) build --scratch-path $(FUZZ_SWIFT) --target GILLab -Xswiftc -sanitize=fuzzer,address \
		-Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table -Xcc -fsanitize=fuzzer-no-link,address
	swiftc -sanitize=fuzzer,address -parse-as-library -I $(FUZZ_SWIFT)/debug/Modules \
		-Xcc -fmodule-map-file=$(FUZZ_SWIFT)/debug/CKernels.build/module.modulemap \
		$$(find $(FUZZ_SWIFT)/checkouts/*/Sources/*/include -name module.modulemap | sed 's/^/-Xcc -fmodule-map-file=/') \
		Tests/Fuzz/FuzzParse.swift \
		$$(find $(FUZZ_SWIFT)/debug/ -name '*.o' -path '*.build/*' | grep -vE 'gillab.build|Tests|generate_|-tool.build|HistogramExample|ArgumentParser') \
		$$(pkg-config --libs openblas) -o $(FUZZ_DIR)/fuzz_parse
	$(FUZZ_DIR)/fuzz_parse -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-parse Tests/Fuzz/corpus/parse

## docs: the DocC catalogs of the four library modules (articles in Sources/GILLab/GILLab.docc, and
## every public symbol), combined so that the lab's pages link into the modules it re-exports; a
## warning fails it
DOC_TARGETS := --target GILLabLock --target GILLabInterpreter --target GILLabKernels --target GILLab
docs: deps
	$(SWIFT) package --disable-sandbox generate-documentation $(DOC_TARGETS) --enable-experimental-combined-documentation --warnings-as-errors

## bench: the package-benchmark suite in benchmarks/
bench: deps
	cd benchmarks && $(SWIFT) package --disable-sandbox benchmark

## deps: install Debian's OpenBLAS and pkg-config when pkg-config cannot find openblas, and python3
## when it is missing
deps:
	@if ! pkg-config --exists openblas 2>/dev/null; then \
		echo "make: pkg-config cannot find openblas; installing libopenblas-dev and pkg-config with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libopenblas-dev pkg-config; \
	fi
	@if ! command -v python3 >/dev/null 2>&1; then \
		echo "make: no python3 (scripts/check_arrows.py needs it); installing python3 with apt-get"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3; \
	fi

clean:
	rm -rf .build .build-tsan .build-asan .build-fuzz benchmarks/.build

# GILLab: the two commands a new user needs are `make demo` and `make test`.
# Every target first makes sure OpenBLAS is installed, since a fresh Debian machine lacks it.

SWIFT ?= swift
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo install test example programs stress tsan asan fuzz docs bench figures deps clean

## demo: release build, the showcase (`gillab` with no arguments), then a report folder in
## gillab-report/ (report.md, SVG charts, a Perfetto trace, the JSON)
demo: deps
	$(SWIFT) build -c release --product gillab
	.build/release/gillab
	.build/release/gillab report --out gillab-report --workload gemm --size 256 --threads 1,2
	@echo
	@echo "gillab is $(CURDIR)/.build/release/gillab; 'make install' copies it to $(PREFIX)/bin"
	@echo "(or: export PATH=\"$(CURDIR)/.build/release:\$$PATH\"). The report is in $(CURDIR)/gillab-report/report.md."

## install: the release build of gillab into $(PREFIX)/bin (default /usr/local; PREFIX=$$HOME/.local
## without root), and cpython_side.py in $(PREFIX)/share/gillab/ for `gillab compare-cpython`
PREFIX ?= /usr/local
install: deps
	$(SWIFT) build -c release --product gillab
	install -d "$(DESTDIR)$(PREFIX)/bin"
	install -m 755 .build/release/gillab "$(DESTDIR)$(PREFIX)/bin/gillab"
	install -d "$(DESTDIR)$(PREFIX)/share/gillab"
	install -m 644 scripts/cpython_side.py "$(DESTDIR)$(PREFIX)/share/gillab/cpython_side.py"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/gillab"

## test: the arrows of the house (scripts/check_arrows.py), every figure block whole and dated
## (scripts/figures.py --check), the test suite (Swift Testing only: there are no XCTest tests, so
## XCTest's empty "Executed 0 tests" is not printed), then the library example
test: deps
	python3 scripts/check_arrows.py
	python3 scripts/figures.py --check
	$(SWIFT) test --disable-xctest
	$(MAKE) example
	$(MAKE) programs

## example: build and run examples/LibraryQuickStart, a package that depends on this one by path
## as a user's would (the complete example of the "Getting started as a library" article)
example: deps
	cd examples/LibraryQuickStart && $(SWIFT) run LibraryQuickStart

## programs: the example programs (examples/programs/*.py) through `gillab exec` under every policy
## that runs programs, each one's output checked against its .expected file (CPython 3.11 wrote
## those of the programs that import only standard modules; pipeline.py imports gillab)
PROGRAM_POLICIES := new-gil legacy-gil io-priority per-interpreter free
programs: deps
	$(SWIFT) build --product gillab
	@set -e; bin=$$($(SWIFT) build --show-bin-path)/gillab; \
	for policy in $(PROGRAM_POLICIES); do for program in examples/programs/*.py; do \
		$$bin exec --policy $$policy --time-limit 120s $$program 2>/dev/null | diff -u $${program%.py}.expected - \
			|| { echo "$$program under $$policy: output differs (above)"; exit 1; }; \
		echo "$$program under $$policy: output as expected"; \
	done; done

## stress: the lock stress tests at full weight: 64 threads × 100,000 acquisitions per policy
stress: deps
	GILLAB_STRESS_ACQUISITIONS=100000 $(SWIFT) test --filter StressTests

## tsan: the test suite under ThreadSanitizer, in its own build folder (stress at 64 × 2,000)
tsan: deps
	GILLAB_TSAN=1 GILLAB_STRESS_ACQUISITIONS=2000 $(SWIFT) test --sanitize=thread --scratch-path .build-tsan

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
	# The objects to link, copied under names without spaces (swift-collections has source files
	# whose names have them, and a shell word list would split them).
	rm -rf $(FUZZ_DIR)/objects && mkdir -p $(FUZZ_DIR)/objects
	find $(FUZZ_SWIFT)/debug/ -name '*.o' -path '*.build/*' | grep -vE 'gillab.build|Tests|generate_|-tool.build|HistogramExample|ArgumentParser' \
		| while IFS= read -r object; do cp "$$object" "$(FUZZ_DIR)/objects/$$(printf '%s' "$${object#$(FUZZ_SWIFT)/debug/}" | tr '/ ' '__')"; done
	swiftc -sanitize=fuzzer,address -parse-as-library -I $(FUZZ_SWIFT)/debug/Modules \
		-Xcc -fmodule-map-file=$(FUZZ_SWIFT)/debug/CKernels.build/module.modulemap \
		-Xcc -fmodule-map-file=$(FUZZ_SWIFT)/debug/CShims.build/module.modulemap \
		$$(find $(FUZZ_SWIFT)/checkouts/*/Sources/*/include -name module.modulemap | sed 's/^/-Xcc -fmodule-map-file=/') \
		Tests/Fuzz/FuzzParse.swift $(FUZZ_DIR)/objects/*.o \
		$$(pkg-config --libs openblas) -o $(FUZZ_DIR)/fuzz_parse
	$(FUZZ_DIR)/fuzz_parse -max_total_time=$(FUZZ_SECONDS) -timeout=5 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-parse Tests/Fuzz/corpus/parse \
		Tests/GILLabInterpreterTests/Programs examples/programs

## docs: the DocC catalogs of the four library modules (articles in Sources/GILLab/GILLab.docc, and
## every public symbol), combined so that the lab's pages link into the modules it re-exports; a
## warning fails it
DOC_TARGETS := --target GILLabLock --target GILLabInterpreter --target GILLabKernels --target GILLab
docs: deps
	$(SWIFT) package --disable-sandbox generate-documentation $(DOC_TARGETS) --enable-experimental-combined-documentation --warnings-as-errors

## figures: re-run the command of every figure block in README.md and the DocC articles and
## rewrite the block with today's output, date and machine (FILES=README.md limits it; a release
## build first, and nothing else running: these are measurements)
FILES ?=
figures: deps
	$(SWIFT) build -c release --product gillab
	python3 scripts/figures.py $(FILES)

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

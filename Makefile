# ftmamba: the two entry points of a fresh Debian 12 machine are `make demo` and `make test`.
BUILD ?= build
JOBS  ?= 2
DATA  ?= data/spotify
RUN   ?= runs/spotify-ft-mamba
PAIRS ?= 160000
# nvcc, when the machine has one: the CUDA kernels are then compiled (as a compile-only check on a CPU build).
NVCC  ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)

.PHONY: all deps build binary test format-check demo bench paper paper-screenshot clean
.PHONY: fuzz

all: build

deps:
	@bash scripts/install-deps

# Everything: the binary, the tests, the benchmarks and (where nvcc is) the CUDA compile check.
build: deps
	@echo "configuring $(BUILD) (tests and benchmarks on)"
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DFTMAMBA_TESTS=ON -DFTMAMBA_BENCH=ON \
	  $(if $(NVCC),-DCMAKE_CUDA_COMPILER=$(NVCC)) >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(BUILD) -j$(JOBS)

# The ftmamba binary alone, with only the packages it needs: what the demo runs.
binary:
	@FTMAMBA_DEPS=demo bash scripts/install-deps
	@echo "configuring $(BUILD)"
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DFTMAMBA_TESTS=OFF -DFTMAMBA_BENCH=OFF >/dev/null
	@env -u MAKEFLAGS -u MAKELEVEL cmake --build $(BUILD) -j$(JOBS) --target ftmamba

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Every C++ / CUDA source as clang-format 14 and .clang-format write it (scripts/check-format --fix rewrites them).
format-check:
	@FTMAMBA_FORMAT=1 bash scripts/install-deps
	@bash scripts/check-format

# Every parser of outside input (CSV, schema.toml, config files and --set, safetensors, a run's config.json)
# under libFuzzer with ASan + UBSan, FUZZ_SECONDS each, from the seeds in tests/fuzz/; clang, in FUZZ_BUILD.
# Fails on any crash or sanitizer report, whose input is kept in FUZZ_BUILD/fuzz-findings/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 600
fuzz: deps
	@FTMAMBA_FUZZ=1 bash scripts/install-deps
	@JOBS=$(JOBS) bash scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

# Generates the default spotify dataset, trains FT-Mamba on CPU, evaluates it beside the oracle and the
# popularity baseline, and shows a recommendation from the run folder. DEMO_SET keeps the training short on a
# small machine (docs/BENCHMARKS.md, "The demo"); empty = the configured 8 epochs.
DEMO_SET ?= --set train.epochs=2 --set train.threads=0
# libgomp's threads spin while they wait for work by default; on this 2-vCPU machine that halved training at the
# demo size (bench_train, d 64, batch 512, 2 threads: 1,481 samples/s spinning, 2,950 passive; docs/BENCHMARKS.md).
demo: export OMP_WAIT_POLICY := $(or $(OMP_WAIT_POLICY),PASSIVE)
demo: binary
	@test -f $(DATA)/interactions.csv || ./$(BUILD)/ftmamba generate --preset spotify --pairs $(PAIRS) --seed 1 --out $(DATA)
	./$(BUILD)/ftmamba train --data $(DATA) --model ft-mamba --out $(RUN) --force $(DEMO_SET)
	./$(BUILD)/ftmamba recommend --run $(RUN) --user $$(sed -n 2p $(DATA)/users.csv | cut -d, -f1) --k 10
	@echo "run folder: $(RUN)  (ftmamba eval --run $(RUN) re-evaluates it)"

# Side-by-side CPU benchmarks against the PyTorch peer (installs python3-torch): training at the demo and paper
# sizes, then encoder forward + backward at 64, 256 and 1,024 feature tokens.
bench: build
	FTMAMBA_PEER=1 bash scripts/install-deps
	bash bench/run_cpu_side_by_side.sh $(BUILD)
	bash bench/run_cpu_scaling_side_by_side.sh $(BUILD)

# The paper reproduction on CPU: each preset at 160,000 pairs, FT-Mamba against FT-Transformer over
# PAPER_SEEDS, then the token-count scaling benchmark; reports/ gets one report per preset and
# docs/RESULTS.md the summary with the figures. Runs train 4 epochs (PAPER_SET; empty = the configured 8).
# Finished runs are reused, so an interrupted run resumes.
PAPER_PRESETS ?= spotify hm vaccine
PAPER_SEEDS   ?= 1,2,3
PAPER_SET     ?= --set train.epochs=4
paper: build
	@start=$$(date +%s); \
	for p in $(PAPER_PRESETS); do \
	  test -f data/paper/$$p/interactions.csv || ./$(BUILD)/ftmamba generate --preset $$p --pairs $(PAIRS) --seed 1 --out data/paper/$$p || exit 1; \
	  ./$(BUILD)/ftmamba compare --data data/paper/$$p --models ft-mamba,ft-transformer --seeds $(PAPER_SEEDS) \
	    --out reports/$$p $(PAPER_SET) || exit 1; \
	done; \
	./$(BUILD)/ftmamba bench scaling --out reports/scaling || exit 1; \
	/usr/bin/python3 scripts/paper-summary.py --reports reports --out docs/RESULTS.md --figures docs/figures/paper \
	  --binary ./$(BUILD)/ftmamba --seconds $$(( $$(date +%s) - start )) && \
	$(MAKE) --no-print-directory paper-screenshot

# A PNG of the first preset's report as headless Chromium renders it, kept in docs/ beside RESULTS.md.
paper-screenshot:
	@p=$$(echo $(PAPER_PRESETS) | cut -d' ' -f1); profile=$$(mktemp -d); \
	timeout 120 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --no-first-run \
	  --disable-dev-shm-usage --window-size=1280,3400 --user-data-dir=$$profile \
	  --screenshot=$(CURDIR)/docs/figures/paper/$$p-report.png file://$(CURDIR)/reports/$$p/report.html \
	  >/dev/null 2>&1 && echo "wrote docs/figures/paper/$$p-report.png"; rm -rf $$profile

clean:
	rm -rf $(BUILD)

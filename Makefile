# tpool developer tasks. Every target works on a fresh machine with Go
# installed: tools are pinned in go.mod (tools.go) and run with go run.

GO        ?= go
PKGS      ?= ./...
# A count, not a duration: a duration races Go's fuzz coordinator at the
# deadline (golang/go#75804, fixed in Go 1.27) and fails with a bare
# "context deadline exceeded" on a loaded machine. fuzz-smoke compiles each
# package's instrumented test binary once and runs every target in it
# FUZZTIME times. Before a release, run far longer, e.g.
#   make fuzz-smoke FUZZTIME=1000000x    (hours on 2 cores)
# and fix and add to testdata/fuzz whatever it finds.
FUZZTIME  ?= 20000x
BENCHTIME ?= 1s
SYSBENCHTIME ?= 1s
# The allocation tests: every test calling testing.AllocsPerRun has a name
# matching this (internal/archtest checks it), and make test runs them once
# more without -race, which allocates on its own and makes some of them skip.
ALLOC_TESTS = Alloc
STATICCHECK = $(GO) run honnef.co/go/tools/cmd/staticcheck
# The demos' SHM base directory; it need not exist (tpoold, or the no-driver
# producer, creates it).
DEMO_BASE ?= /dev/shm/tensorpool
# bench-udp: the Aeron C binaries (aeronmd and the C samples) and the
# drivers' threading: shared, dedicated or both.
TPOOL_AERON_C_BIN ?= /opt/tpool-ext/aeron/bin
UDP_BENCH_THREADING ?= shared
UDP_BENCH_GOMAXPROCS ?=

.PHONY: all demo demo-nodriver demo-camera generate build test stress bench bench-udp bench-system fuzz-smoke check-generated lint help

all: build test lint

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

demo: generate ## the real thing: tpoold, a producer and two consumers (one waiting before the producer starts) over /dev/shm
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/tpoold ./cmd/tp
	BIN=bin DEMO_BASE="$(DEMO_BASE)" sh examples/driver/demo.sh

demo-nodriver: generate ## the no-driver example: a producer announcing its regions over Aeron (no tpoold) and a consumer, in both start orders, with a tpool-aeronmd media driver
	@mkdir -p bin
	$(GO) build -o bin/ ./examples/nodriver/producer ./examples/nodriver/consumer ./cmd/tpool-aeronmd
	BIN=bin DEMO_BASE="$(DEMO_BASE)" sh examples/nodriver/demo.sh

demo-camera: generate ## the camera example through tpoold: 480x640 uint16 frames on the generated stubs, typed metadata and a calibration blob, per-second statistics
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/tpoold
	$(GO) build -o bin/camera-producer ./examples/camera/producer
	$(GO) build -o bin/camera-consumer ./examples/camera/consumer
	BIN=bin DEMO_BASE="$(DEMO_BASE)" sh examples/camera/demo.sh

generate: ## regenerate gen/, the test stubs (and the tensorgen test codecs when ../shared exists)
	$(GO) generate ./gen ./tensorgen/internal/testschemas ./tensorgen/internal/versioned ./internal/stubtest ./examples/pointcloud/points ./examples/camera/internal/cam

build: ## compile everything, examples and commands included
	$(GO) build $(PKGS)

test: ## run every test with the race detector, then the allocation tests without it
	$(GO) test -race -timeout 20m $(PKGS)
	$(GO) test -count=1 -timeout 10m -run '$(ALLOC_TESTS)' $(PKGS)

stress: ## torn-read tests at full size (1M read attempts across processes; -race scales them down)
	$(GO) test -count=1 -run 'TornReads' -v ./runtime/pool

bench: ## run the benchmarks with allocation counts
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCHTIME) $(PKGS)

bench-udp: ## loopback UDP, tpool-aeronmd vs aeronmd with the same C samples in one run (UDP_BENCH_THREADING=shared|dedicated|both; UDP_BENCH_GOMAXPROCS=N adds tpool-aeronmd -gomaxprocs N); prints a table for docs/PERFORMANCE.md
	@echo "commit $$(git rev-parse --short HEAD); $$(grep -m1 'model name' /proc/cpuinfo); $$(nproc) cpus; $$(uptime)"
	TPOOL_AERON_C_BIN=$(TPOOL_AERON_C_BIN) TPOOL_UDP_BENCH=1 TPOOL_UDP_BENCH_THREADING=$(UDP_BENCH_THREADING) TPOOL_UDP_BENCH_GOMAXPROCS=$(UDP_BENCH_GOMAXPROCS) \
		$(GO) test -count=1 -v -timeout 60m -run '^TestUDPPerformanceVsAeronmd$$' ./runtime/aeron/interop/
	@echo "done: $$(uptime)"
bench-system: ## the system benchmark: producer -> tpoold -> consumer processes, against copy() and raw Aeron in the same run
	@grep -m1 'model name' /proc/cpuinfo; uptime
	$(GO) test -count=1 -run '^$$' -bench . -benchmem -benchtime $(SYSBENCHTIME) ./internal/sysbench
	@uptime

fuzz-smoke: ## run every fuzz target for FUZZTIME executions each (before a release: make fuzz-smoke FUZZTIME=1000000x)
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	for dir in $$($(GO) list -f '{{.Dir}}' $(PKGS)); do \
		targets=$$(cat $$dir/*_test.go 2>/dev/null | sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(f \*testing\.F).*/\1/p'); \
		[ -n "$$targets" ] || continue; \
		$(GO) test -c -fuzz=. -o $$tmp/fuzz.test $$dir; \
		for target in $$targets; do \
			echo "fuzz $$dir $$target ($(FUZZTIME))"; \
			(cd $$dir && $$tmp/fuzz.test -test.run '^$$' -test.fuzz "^$$target\$$" -test.fuzztime $(FUZZTIME) \
				-test.fuzzcachedir $$tmp/cache) > $$tmp/log 2>&1 || { cat $$tmp/log; exit 1; }; \
		done; \
	done

check-generated: generate ## fail if generated code differs from what is committed
	@git diff --exit-code -- gen tensorgen/internal/testschemas tensorgen/internal/versioned internal/stubtest examples/pointcloud/points examples/camera/internal/cam || { echo "generated code is stale: run make generate and commit"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- gen tensorgen/internal/testschemas tensorgen/internal/versioned internal/stubtest examples/pointcloud/points examples/camera/internal/cam); \
	if [ -n "$$untracked" ]; then echo "untracked generated files: $$untracked"; exit 1; fi

lint: ## gofmt, go vet and staticcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt -w these files:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

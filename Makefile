# Sportello — build, run and test.
#
#   make run     install missing system packages, build the desktop app, open it
#                (embedded local database in the user's data folder, demo data on first start)
#   make test    install missing packages, vet, unit/UI tests, server built with
#                CGO_ENABLED=0, desktop app built and started in a real window under Xvfb
#   make bench   the benchmarks of the issues, with baselines measured in the same run
#   make fuzz    every fuzz target for FUZZTIME each (default 20s)
#   make soak    the replication simulation with SOAK_SEEDS seeds of SOAK_STEPS steps (200 × 400),
#                then SOAK_RACE_SEEDS more (8) under the race detector
#   make windows cross-compile the desktop app for Windows (bin/sportello.exe) with MinGW-w64

GO        ?= go
BIN       ?= bin
TAGS      := migrated_fynedo
FUZZTIME  ?= 20s
export GOFLAGS ?= -mod=readonly

.PHONY: all deps deps-test run build build-app build-server test vet unit window-check bench fuzz soak windows clean

all: build

deps:
	@bash scripts/deps.sh run

deps-test:
	@bash scripts/deps.sh test

build: build-app build-server

build-app: deps
	$(GO) build -tags $(TAGS) -o $(BIN)/sportello ./cmd/sportello

build-server:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sportello-server ./cmd/sportello-server
	CGO_ENABLED=0 $(GO) build -o $(BIN)/sportello-replica ./cmd/sportello-replica

run: build-app
	./$(BIN)/sportello

test: deps-test vet unit build window-check

vet:
	$(GO) vet -tags $(TAGS) ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	 if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

unit:
	$(GO) test -tags $(TAGS) -count=1 ./...

window-check: build-app
	bash scripts/window-check.sh $(BIN)/sportello $(BIN)/window-check.png

bench: build-app deps-test
	$(GO) run ./cmd/sportello-bench -app $(BIN)/sportello

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/codicefiscale/
	$(GO) test -run='^$$' -fuzz=FuzzImport -fuzztime=$(FUZZTIME) ./internal/vcard/
	$(GO) test -run='^$$' -fuzz='^FuzzPush$$' -fuzztime=$(FUZZTIME) ./sync/
	$(GO) test -run='^$$' -fuzz=FuzzPushFramed -fuzztime=$(FUZZTIME) ./sync/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBatch -fuzztime=$(FUZZTIME) ./sync/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeFields -fuzztime=$(FUZZTIME) ./store/
	$(GO) test -run='^$$' -fuzz=FuzzDetect -fuzztime=$(FUZZTIME) ./internal/filetype/
	$(GO) test -run='^$$' -fuzz=FuzzParseDate -fuzztime=$(FUZZTIME) ./internal/completeness/
	$(GO) test -run='^$$' -fuzz=FuzzValidIBAN -fuzztime=$(FUZZTIME) ./internal/completeness/
	$(GO) test -run='^$$' -fuzz=FuzzCheck -fuzztime=$(FUZZTIME) ./internal/completeness/

# The replication simulation with many more seeds than `make test` runs,
# then other seeds under the race detector (both modes of the client run:
# every fourth seed keeps two pushes and a pull prefetch in flight).
SOAK_SEEDS ?= 200
SOAK_STEPS ?= 400
SOAK_RACE_SEEDS ?= 8
soak:
	SPORTELLO_SIM_SEEDS=$(SOAK_SEEDS) SPORTELLO_SIM_STEPS=$(SOAK_STEPS) $(GO) test -tags $(TAGS) -count=1 -timeout 2h -run 'TestSimulation$$' ./sync/
	SPORTELLO_SIM_SEEDS=$(SOAK_RACE_SEEDS) SPORTELLO_SIM_FIRST=100001 SPORTELLO_SIM_STEPS=$(SOAK_STEPS) $(GO) test -race -tags $(TAGS) -count=1 -timeout 2h -run 'TestSimulation$$' ./sync/

# Windows build: cgo with the MinGW-w64 cross compiler, GUI subsystem (no console window).
windows:
	bash scripts/deps.sh windows
	GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc $(GO) build -tags $(TAGS) -ldflags -H=windowsgui -o $(BIN)/sportello.exe ./cmd/sportello

clean:
	rm -rf $(BIN)

# gameday: Kubernetes game days with measured recovery.
# Real logic lives in hack/; targets here stay short.

GO        ?= go
BIN       := bin/gameday
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/gameday-dev/gameday/framework/cli.Version=$(VERSION)
SCENARIO  ?= scenarios/demo.yaml

.PHONY: all build testbed demo test unit integration fuzz crash-trials lint clean

all: build

## build: the gameday binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gameday

## testbed: Docker engine + offline kind node images (cached in $$GAMEDAY_CACHE)
testbed:
	bash hack/testbed/testbed.sh

## demo: a real game day (node loss, then DNS outage) on a local kind cluster.
## The demo succeeds when the game day ran and wrote its report, even if an SLO was
## breached (exit code 1): that is a result, not a failure of the demo.
demo: testbed build
	@$(BIN) run $(SCENARIO); code=$$?; \
	  if [ $$code -eq 1 ]; then echo "demo: the game day ran; an SLO or expectation failed (see the report)"; exit 0; fi; \
	  exit $$code

## test: everything CI runs: unit tests, a short fuzz run, real-cluster tests
test: testbed unit fuzz integration

## unit: fast tests, no cluster (-short)
unit:
	$(GO) test -short -count=1 ./...

## fuzz: a short fuzz run of every parser (longer: make fuzz FUZZTIME=10m)
FUZZTIME ?= 20s
fuzz:
	bash hack/fuzz.sh $(FUZZTIME)

## integration: real kind clusters from the test bed, one package at a time. Test
## clusters (named gd-*) left by an interrupted earlier run are deleted first.
integration: build
	@$(BIN) cluster list | grep '^gd-' | xargs -r -n1 $(BIN) cluster down --name
	$(GO) test -count=1 -p 1 -timeout 80m -run 'TestIntegration' ./...

## crash-trials: the SIGKILL-then-recover test with 20 trials per fault mode (make test
## runs one per mode; CRASH_TRIALS=N for another count)
CRASH_TRIALS ?= 20
crash-trials: testbed
	GAMEDAY_CRASH_TRIALS=$(CRASH_TRIALS) $(GO) test -count=1 -timeout 600m \
	  -run 'TestIntegrationCrashRecover' -v ./framework/cli/

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin runs

# gameday: Kubernetes game days with measured recovery.
# Real logic lives in hack/; targets here stay short.

GO        ?= go
BIN       := bin/gameday
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/gameday-dev/gameday/framework/cli.Version=$(VERSION)
SCENARIO  ?= scenarios/demo.yaml

.PHONY: all build testbed demo test unit integration fuzz lint clean

all: build

## build: the gameday binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gameday

## testbed: Docker engine + offline kind node images (cached in $$GAMEDAY_CACHE)
testbed:
	bash hack/testbed/testbed.sh

## demo: a real game day (node loss, then DNS outage) on a local kind cluster
demo: testbed build
	$(BIN) run $(SCENARIO)

## test: everything CI runs: unit tests, a short fuzz run, real-cluster tests
test: testbed unit fuzz integration

## unit: fast tests, no cluster (-short)
unit:
	$(GO) test -short -count=1 ./...

## fuzz: a short fuzz run of every parser (longer: make fuzz FUZZTIME=10m)
FUZZTIME ?= 20s
fuzz:
	bash hack/fuzz.sh $(FUZZTIME)

## integration: real kind clusters from the test bed, one package at a time
integration:
	$(GO) test -count=1 -p 1 -timeout 80m -run 'TestIntegration' ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

clean:
	rm -rf bin runs

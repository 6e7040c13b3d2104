# gameday: Kubernetes game days with measured recovery.
# Real logic lives in hack/; targets here stay short.

GO        ?= go
BIN       := bin/gameday
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/gameday-dev/gameday/framework/cli.Version=$(VERSION)
SCENARIO  ?= scenarios/demo.yaml

.PHONY: all build testbed node-image agent-image images demo-testbed demo test unit integration fuzz crash-trials lint clean

all: build

## build: the gameday binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gameday

## testbed: everything the tests use: Docker engine, offline kind node images for every
## version, gameday's own images, kind's load balancer image (cached in $$GAMEDAY_CACHE)
testbed:
	bash hack/testbed/testbed.sh

## node-image: Docker engine + the offline node image of one version only
## (K8S_VERSION, default gameday's default Kubernetes version)
K8S_VERSION ?= v1.35.4
node-image:
	GAMEDAY_K8S_VERSIONS=$(K8S_VERSION) bash hack/testbed/testbed.sh nodes

## agent-image: only the in-cluster probe agent (gameday/gameday:dev) from this checkout,
## e.g. after changing the code; needs a running Docker engine
agent-image:
	bash hack/testbed/gameday-images.sh agent

## images: gameday's own images: the probe agent and the test workload (gameday/workload:dev)
images:
	bash hack/testbed/gameday-images.sh

## demo-testbed: only what `make demo` runs on: Docker engine, the node image of
## K8S_VERSION and gameday's own images (no second version, no load balancer)
demo-testbed:
	GAMEDAY_K8S_VERSIONS=$(K8S_VERSION) bash hack/testbed/testbed.sh nodes images

## demo: a real game day (node loss, then DNS outage) on a local kind cluster.
## The demo succeeds when the game day ran and wrote its report, even if an SLO was
## breached (exit code 1): that is a result, not a failure of the demo.
demo: demo-testbed build
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

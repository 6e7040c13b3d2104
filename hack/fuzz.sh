#!/usr/bin/env bash
# fuzz.sh [FUZZTIME]: runs every Fuzz* target in the module for FUZZTIME each
# (go test runs one fuzz target per invocation). A failing input is shrunk for at
# most 1s: Go's default (60s) spends a short run shrinking large YAML inputs instead
# of exploring.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-20s}
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz: $pkg $target for $fuzztime"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" -fuzzminimizetime 1s "$pkg"
  done
done

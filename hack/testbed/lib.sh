#!/usr/bin/env bash
# lib.sh: shared helpers for the offline test bed scripts (sourced, not run).
#
# Every component is built into $GAMEDAY_CACHE/<component>/<version>-<recipe>/ where
# <recipe> is a short hash of the script that builds it, so a changed recipe rebuilds
# and an unchanged one is reused. A component directory is complete only when its
# ".done" stamp exists; half-built directories are removed and rebuilt.
set -euo pipefail

GAMEDAY_CACHE=${GAMEDAY_CACHE:-/var/cache/gameday}
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTBED_DIR/../.." && pwd)
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

# recipe_hash FILE...: short content hash of the files that define a build.
recipe_hash() { cat "$@" "$TESTBED_DIR/lib.sh" | sha256sum | cut -c1-10; }

# cached NAME VERSION RECIPE_FILES... -- COMMAND...: runs COMMAND with $OUT set to an
# empty cache directory unless a finished one exists; prints the directory either way
# and records how long the step took in $GAMEDAY_CACHE/timings.log.
cached() {
  local name=$1 version=$2; shift 2
  local files=()
  while [ "$1" != "--" ]; do files+=("$1"); shift; done; shift
  local key; key="$version-$(recipe_hash "${files[@]}")"
  local dir="$GAMEDAY_CACHE/$name/$key"
  if [ -f "$dir/.done" ]; then
    log "cached  $name $version ($dir)"
    printf '%s\n' "$dir"; return 0
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  local start=$SECONDS
  log "build   $name $version"
  OUT=$dir "$@" >&2 || { rm -rf "$dir"; die "building $name $version failed"; }
  touch "$dir/.done"
  local took=$((SECONDS - start))
  log "built   $name $version in ${took}s"
  printf '%s %s %s %ss\n' "$(date -u +%FT%TZ)" "$name" "$version" "$took" >> "$GAMEDAY_CACHE/timings.log"
  printf '%s\n' "$dir"
}

# go_build_module DIR MODULE@VERSION: prepares a throwaway module in DIR requiring MODULE.
go_module() {
  local dir=$1 req=$2
  mkdir -p "$dir"
  ( cd "$dir" && [ -f go.mod ] || go mod init gameday.local/build >/dev/null 2>&1 )
  ( cd "$dir" && go mod edit -require="$req" )
}

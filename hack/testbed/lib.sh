#!/usr/bin/env bash
# lib.sh: shared helpers for the offline test bed scripts (sourced, not run).
#
# Every component is built into $GAMEDAY_CACHE/<component>/<version>-<recipe>/ where
# <recipe> is a short hash of the script that builds it, so a changed recipe rebuilds
# and an unchanged one is reused. A component directory is complete only when its
# ".done" stamp exists; half-built directories are removed and rebuilt.
set -euo pipefail
# Command substitutions fail the script too (bash does not pass -e into them by default).
shopt -s inherit_errexit

GAMEDAY_CACHE=${GAMEDAY_CACHE:-/var/cache/gameday}
TESTBED_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTBED_DIR/../.." && pwd)
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }

# recipe_hash TEXT: short hash of the text that defines a build (the shell functions
# that build it, from `declare -f`), so editing one recipe rebuilds only that component.
recipe_hash() { printf '%s' "$1" | sha256sum | cut -c1-10; }

# cached NAME VERSION RECIPE -- COMMAND...: runs COMMAND with $OUT set to an empty cache
# directory unless a finished one exists; prints the directory either way and records
# how long the step took in $GAMEDAY_CACHE/timings.log. Concurrent callers of the same
# component wait for each other (flock) instead of building it twice.
cached() {
  local name=$1 version=$2 recipe=$3; shift 3
  [ "$1" = "--" ] && shift
  local key; key="$version-$(recipe_hash "$recipe")"
  local dir="$GAMEDAY_CACHE/$name/$key"
  # GAMEDAY_PLAN=1: only print where the component would be and whether it is built.
  if [ -n "${GAMEDAY_PLAN:-}" ]; then
    [ -f "$dir/.done" ] && printf 'built   %s\n' "$dir" || printf 'missing %s\n' "$dir"
    return 0
  fi
  mkdir -p "$GAMEDAY_CACHE/$name"
  local lock
  exec {lock}>"$GAMEDAY_CACHE/$name/.$key.lock"
  flock "$lock"
  if [ -f "$dir/.done" ]; then
    log "cached  $name $version ($dir)"
    printf '%s\n' "$dir"; return 0
  fi
  rm -rf "$dir"; mkdir -p "$dir"
  local start=$SECONDS
  log "build   $name $version"
  # A subshell that is not part of an || list, so `set -e` holds inside the build.
  local rc=0
  set +e
  (set -e; OUT=$dir "$@") >&2
  rc=$?
  set -e
  [ "$rc" = 0 ] || { rm -rf "$dir"; die "building $name $version failed (exit $rc)"; }
  touch "$dir/.done"
  local took=$((SECONDS - start))
  log "built   $name $version in ${took}s"
  printf '%s %s %s %ss\n' "$(date -u +%FT%TZ)" "$name" "$version" "$took" >> "$GAMEDAY_CACHE/timings.log"
  printf '%s\n' "$dir"
}

#!/usr/bin/env bash
# ci-cold.sh: measures `bash .ci/run` as a cold CI machine would run it, on this
# machine: a fresh clone of HEAD, an empty $GAMEDAY_CACHE, empty Go build and module
# caches, and none of the test bed's images in Docker. It deletes every kind cluster
# and the test bed's images (they are rebuilt by the run); Debian packages and the
# Docker engine stay installed (installing them takes a minute or two).
#
#   bash hack/ci-cold.sh            # logs to $COLD_ROOT/ci.log (default /var/tmp/gameday-cold)
set -euo pipefail
root=${COLD_ROOT:-/var/tmp/gameday-cold}
repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rm -rf "$root"; mkdir -p "$root"
git clone -q "$repo" "$root/repo"
if docker info >/dev/null 2>&1; then
  docker ps -aq --filter label=io.x-k8s.kind.cluster | xargs -r docker rm -f >/dev/null
  docker images --format '{{.Repository}}:{{.Tag}}' \
    | grep -E '^(gameday|gameday\.local|registry\.k8s\.io|envoyproxy)/' | xargs -r docker rmi -f >/dev/null
  docker image prune -f >/dev/null
fi
export GAMEDAY_CACHE=$root/cache GOCACHE=$root/gocache GOMODCACHE=$root/gomod
cd "$root/repo"
start=$SECONDS
rc=0
bash .ci/run > "$root/ci.log" 2>&1 || rc=$?
echo "cold .ci/run: exit $rc after $((SECONDS - start))s (log: $root/ci.log, step times: $GAMEDAY_CACHE/timings.log)"
exit "$rc"

#!/usr/bin/env bash
# testbed.sh: builds the offline test bed (`make testbed`): a Docker engine that runs
# kind's privileged nodes, and kind node images for two adjacent Kubernetes minor
# versions with every image they need preloaded, all from Go modules and Debian
# packages. Safe to run again: finished components are reused from $GAMEDAY_CACHE.
#
# Arguments: the parts to build, after the Docker engine (default: all three):
#   nodes   a kind node image for each version in GAMEDAY_K8S_VERSIONS
#   images  this repository's images (gameday/gameday:dev, gameday/workload:dev)
#   lb      the load balancer image kind puts in front of several control planes
#
# Environment:
#   GAMEDAY_K8S_VERSIONS  node image versions (default: "v1.35.4 v1.36.3")
#   GAMEDAY_CACHE         build cache outside the repo (default: /var/cache/gameday)
source "$(dirname "$0")/lib.sh"
versions=${GAMEDAY_K8S_VERSIONS:-v1.35.4 v1.36.3}
start=$SECONDS
parts=" ${*:-nodes images lb} "
for part in $parts; do
  case "$part" in nodes|images|lb) ;; *) die "unknown part $part (want nodes, images or lb)" ;; esac
done
want() { [[ $parts == *" $1 "* ]]; }

[ "$(id -u)" = 0 ] || die "the test bed installs packages and starts dockerd: run it as root"
command -v go >/dev/null || die "go is not on PATH"
mkdir -p "$GAMEDAY_CACHE"
mark=$(wc -l < "$GAMEDAY_CACHE/timings.log" 2>/dev/null || echo 0)

step() { local s=$SECONDS; log "== $1"; shift; "$@"; log "== done in $((SECONDS - s))s"; }
step "docker engine" bash "$TESTBED_DIR/docker.sh"
if want nodes; then
  # Both root file systems need debootstrap: install it here, once, because two
  # apt-get runs side by side fail on dpkg's lock ("Could not get lock").
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  # debootstrap waits on the network and disk more than the CPU: run both root file
  # systems alongside the Go builds (each component is locked, so node.sh just waits
  # for them if it gets there first).
  bash "$TESTBED_DIR/rootfs.sh" node >/dev/null 2>"$GAMEDAY_CACHE/rootfs-node.log" &
  rootfs_node=$!
  bash "$TESTBED_DIR/rootfs.sh" tools >/dev/null 2>"$GAMEDAY_CACHE/rootfs-tools.log" &
  rootfs_tools=$!
  wait_rootfs() {
    wait "$rootfs_node" || { cat "$GAMEDAY_CACHE/rootfs-node.log" >&2; die "node root file system failed"; }
    wait "$rootfs_tools" || { cat "$GAMEDAY_CACHE/rootfs-tools.log" >&2; die "tools root file system failed"; }
    cat "$GAMEDAY_CACHE/rootfs-node.log" "$GAMEDAY_CACHE/rootfs-tools.log" >&2
  }
  first=${versions%% *}
  step "kubernetes $first binaries" bash "$TESTBED_DIR/k8s.sh" "$first" >/dev/null
  wait_rootfs
  # One version at a time, so the first node image is usable while the next builds.
  for v in $versions; do step "node image $v" bash "$TESTBED_DIR/node.sh" "$v"; done
fi
if want images; then step "gameday images" bash "$TESTBED_DIR/gameday-images.sh"; fi
if want lb; then step "kind load balancer image" bash "$TESTBED_DIR/loadbalancer.sh"; fi

log "what was built this run (step, version, seconds):"
tail -n +"$((mark + 1))" "$GAMEDAY_CACHE/timings.log" 2>/dev/null | sed 's/^/    /' >&2 || true
if want nodes; then
  log "node images:"
  for v in $versions; do docker image ls --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' "gameday/node:$v" >&2; done
fi
log "test bed ready in $((SECONDS - start))s"

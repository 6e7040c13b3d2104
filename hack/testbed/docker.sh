#!/usr/bin/env bash
# docker.sh: makes sure a Docker engine answers, and that it can run privileged
# containers (kind's nodes are privileged containers).
#
# - No engine answering: install Debian's docker.io if dockerd is missing, start dockerd
#   in the background (there may be no systemd) and wait for its socket.
# - A privileged container fails with "unable to apply caps": the host's capability
#   bounding set lacks a capability Docker grants privileged containers (seen on
#   restricted VMs, where CAP_SYS_RESOURCE is missing). Only then install the runtime
#   wrapper (runc-wrapper.sh) as Docker's default runtime. A normal host is left as it is.
source "$(dirname "$0")/lib.sh"

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

install_engine() {
  command -v dockerd >/dev/null 2>&1 && return 0
  log "installing Debian's docker.io"
  apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q docker.io >/dev/null
}

start_engine() {
  engine_up && return 0
  install_engine
  log "starting dockerd"
  mkdir -p /var/log
  nohup dockerd >/var/log/gameday-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do engine_up && return 0; sleep 1; done
  tail -20 /var/log/gameday-dockerd.log >&2
  die "dockerd did not answer within 60s (log: /var/log/gameday-dockerd.log)"
}

# probe_image: the smallest image that can run `true`, imported from Debian's busybox-static.
probe_image() {
  docker image inspect gameday/probe:busybox >/dev/null 2>&1 && return 0
  command -v busybox >/dev/null 2>&1 || [ -x /bin/busybox ] || \
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q busybox-static >/dev/null
  local tmp; tmp=$(mktemp -d)
  mkdir -p "$tmp/bin"
  cp "$(command -v busybox || echo /bin/busybox)" "$tmp/bin/busybox"
  for a in sh true cat ls sleep nc; do ln -s busybox "$tmp/bin/$a"; done
  tar -C "$tmp" -c . | docker import - gameday/probe:busybox >/dev/null
  rm -rf "$tmp"
}

privileged_ok() { docker run --rm --privileged gameday/probe:busybox true >/dev/null 2>&1; }

install_wrapper() {
  log "privileged containers fail here: installing the capability-stripping runtime wrapper"
  command -v jq >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q jq >/dev/null
  install -m 0755 "$TESTBED_DIR/runc-wrapper.sh" /usr/local/bin/gameday-runc
  local conf=/etc/docker/daemon.json
  mkdir -p /etc/docker
  [ -s "$conf" ] || echo '{}' > "$conf"
  jq '.runtimes["gameday-runc"] = {"path": "/usr/local/bin/gameday-runc"} | ."default-runtime" = "gameday-runc"' \
    "$conf" > "$conf.new" && mv "$conf.new" "$conf"
  # dockerd reloads runtimes on SIGHUP.
  pkill -HUP -x dockerd || true
  sleep 2
}

start_engine
probe_image
# An installed wrapper from an older checkout is refreshed in place.
if [ -f /usr/local/bin/gameday-runc ] && ! cmp -s "$TESTBED_DIR/runc-wrapper.sh" /usr/local/bin/gameday-runc; then
  log "updating the runtime wrapper"
  install -m 0755 "$TESTBED_DIR/runc-wrapper.sh" /usr/local/bin/gameday-runc
fi
if ! privileged_ok; then
  install_wrapper
  privileged_ok || die "privileged containers still fail after installing the runtime wrapper: $(docker run --rm --privileged gameday/probe:busybox true 2>&1 | tail -1)"
fi
log "docker $(docker version --format '{{.Server.Version}}') runs privileged containers"

# kind's known issue: each node's kubelet, kube-proxy and flannel use inotify
# instances, and the default 128 per user runs out with two clusters up (a kept
# e2e cluster and the three-control-plane one: kube-proxy then fails with "too
# many open files"). Raise the limits kind's docs recommend, never lower them.
raise_sysctl() {
  local key=$1 want=$2 have
  have=$(sysctl -n "$key" 2>/dev/null || echo 0)
  if [ "$have" -lt "$want" ]; then
    sysctl -q -w "$key=$want" >/dev/null 2>&1 && log "raised $key from $have to $want" || log "warning: could not raise $key (have $have, kind wants $want)"
  fi
}
raise_sysctl fs.inotify.max_user_instances 512
raise_sysctl fs.inotify.max_user_watches 524288

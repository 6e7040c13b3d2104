#!/usr/bin/env bash
# images.sh: functions that turn cached builds into Docker images (sourced by node.sh).
#
# Images are built with Docker's classic builder from a generated context directory.
# Each image carries the label dev.gameday.inputs=<hash of its context>; an image whose
# label matches is reused, so a warm run builds nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# context_hash DIR: content hash of a build context (names, modes and bytes).
context_hash() {
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$1" -cf - . | sha256sum | cut -c1-16
}

# docker_image TAG DIR: builds DIR/Dockerfile as TAG (and any extra tags in DIR/tags)
# unless TAG already exists with the same inputs.
docker_image() {
  local tag=$1 dir=$2 hash have
  hash=$(context_hash "$dir")
  have=$(docker image inspect -f '{{index .Config.Labels "dev.gameday.inputs"}}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    log "cached  image $tag"
  else
    log "build   image $tag"
    printf '\nLABEL dev.gameday.inputs=%s\n' "$hash" >> "$dir/Dockerfile"
    # The classic builder (BuildKit is not in Debian's docker.io) warns that it is
    # deprecated on every build: keep its output for failures only.
    DOCKER_BUILDKIT=0 docker build -q -t "$tag" "$dir" >"$dir/.build.log" 2>&1 \
      || { cat "$dir/.build.log" >&2; return 1; }
  fi
  if [ -f "$dir/tags" ]; then
    local t; while read -r t; do [ -n "$t" ] && docker tag "$tag" "$t"; done < "$dir/tags"
  fi
}

# scratch_image TAG ENTRYPOINT SRC:DEST...: an image FROM scratch holding static binaries.
scratch_image() {
  local tag=$1 entry=$2; shift 2
  local dir; dir=$(mktemp -d)
  printf 'FROM scratch\nENV PATH=/usr/local/bin:/usr/bin:/bin\n' > "$dir/Dockerfile"
  local pair src dest
  for pair in "$@"; do
    src=${pair%%:*} dest=${pair#*:}
    [ -f "$src" ] || die "image $tag: $src does not exist"
    mkdir -p "$dir/ctx$(dirname "$dest")"
    cp "$src" "$dir/ctx$dest"; chmod 0755 "$dir/ctx$dest"
  done
  printf 'COPY ctx/ /\n' >> "$dir/Dockerfile"
  [ -n "$entry" ] && printf 'ENTRYPOINT %s\n' "$entry" >> "$dir/Dockerfile"
  docker_image "$tag" "$dir"
  rm -rf "$dir"
}

# rootfs_image TAG ROOTFS_DIR: imports a cached root file system tar as an image.
rootfs_image() {
  local tag=$1 rootfs=$2 want have
  want=$(basename "$rootfs")
  have=$(docker image inspect -f '{{index .Config.Labels "dev.gameday.inputs"}}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$want" ]; then log "cached  image $tag"; return 0; fi
  log "import  image $tag"
  docker import -c "LABEL dev.gameday.inputs=$want" "$rootfs/rootfs.tar" "$tag" >/dev/null
}

# busybox_image TAG: a tiny image with a shell, from Debian's busybox-static.
busybox_image() {
  local tag=$1 dir bb
  [ -x /bin/busybox ] || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q busybox-static >/dev/null
  dir=$(mktemp -d); mkdir -p "$dir/ctx/bin" "$dir/ctx/tmp"
  cp /bin/busybox "$dir/ctx/bin/busybox"
  for a in sh mkdir rm rmdir chmod ls cat sleep echo nc true false test; do ln -s busybox "$dir/ctx/bin/$a"; done
  printf 'FROM scratch\nENV PATH=/bin\nCOPY ctx/ /\nCMD ["/bin/sh"]\n' > "$dir/Dockerfile"
  docker_image "$tag" "$dir"
  rm -rf "$dir"
}

# iptables_chooser DIR: installs into DIR/ctx a wrapper that, on first use, points
# iptables at the backend (legacy or nft) the node already uses, as kube-proxy's
# upstream image does, so pods and node never program two different backends.
iptables_chooser() {
  local dir=$1
  mkdir -p "$dir/ctx/usr/sbin"
  cat > "$dir/ctx/usr/sbin/gameday-iptables-chooser" <<'WRAP'
#!/bin/sh
# Picks iptables-legacy or iptables-nft by which one already holds rules, then re-runs.
set -e
legacy=$( (iptables-legacy-save; ip6tables-legacy-save) 2>/dev/null | grep -c '^-' || true)
nft=$( (iptables-nft-save; ip6tables-nft-save) 2>/dev/null | grep -c '^-' || true)
mode=nft; [ "${legacy:-0}" -gt "${nft:-0}" ] && mode=legacy
for t in iptables ip6tables; do
  for s in "" -save -restore; do
    ln -sf "/usr/sbin/xtables-$mode-multi" "/usr/sbin/$t$s"
  done
done
exec "$0" "$@"
WRAP
  chmod 0755 "$dir/ctx/usr/sbin/gameday-iptables-chooser"
  # The alternatives links are replaced by the chooser until it has run once.
  printf 'RUN for t in iptables ip6tables; do for s in "" -save -restore; do ln -sf gameday-iptables-chooser /usr/sbin/$t$s; done; done\n' > "$dir/chooser.run"
}

# tools_image TAG ROOTFS_TAG ENTRY SRC:DEST...: binaries on the Debian tools userland.
tools_image() {
  local tag=$1 base=$2 entry=$3; shift 3
  local dir; dir=$(mktemp -d)
  iptables_chooser "$dir"
  local pair src dest
  for pair in "$@"; do
    src=${pair%%:*} dest=${pair#*:}
    [ -f "$src" ] || die "image $tag: $src does not exist"
    mkdir -p "$dir/ctx$(dirname "$dest")"
    cp "$src" "$dir/ctx$dest"; chmod 0755 "$dir/ctx$dest"
  done
  { printf 'FROM %s\nCOPY ctx/ /\n' "$base"; cat "$dir/chooser.run"; } > "$dir/Dockerfile"
  rm "$dir/chooser.run"
  # The base image's ID is an input too.
  docker image inspect -f '{{.Id}}' "$base" > "$dir/base.id"
  [ -n "$entry" ] && printf 'ENTRYPOINT %s\n' "$entry" >> "$dir/Dockerfile"
  docker_image "$tag" "$dir"
  rm -rf "$dir"
}

# repo_bin NAME PKG: a static build of one of this repository's commands; prints its path.
repo_bin() {
  local out="$GAMEDAY_CACHE/repo/$1"; mkdir -p "$(dirname "$out")"
  (cd "$REPO_ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out" "$2")
  printf '%s\n' "$out"
}

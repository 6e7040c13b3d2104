#!/usr/bin/env bash
# loadbalancer.sh: the image kind runs in front of several control planes.
#
# kind names a fixed image for its API server load balancer (an envoy release, see
# sigs.k8s.io/kind pkg/cluster/internal/loadbalancer/const.go) and configures it with
# envoy's file-based CDS/LDS. Envoy cannot be built from Go modules or Debian
# packages, so offline the test bed tags, under that name, a Debian userland (kind
# runs `bash -c ... envoy -c /home/envoy/envoy.yaml`) holding clusters/images/kindlb:
# a Go TCP load balancer that reads exactly that configuration and health-checks the
# API servers as envoy would. An image of that name that is not ours (a registry's
# real envoy) is left alone.
source "$(dirname "$0")/images.sh"
IMG=gameday.local

KIND_VERSION=$(cd "$REPO_ROOT" && go list -m -f '{{.Version}}' sigs.k8s.io/kind)
kind=$( (cd "$REPO_ROOT" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION") | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
image=$(sed -n 's/^const Image = "\(.*\)"/\1/p' "$kind/pkg/cluster/internal/loadbalancer/const.go")
[ -n "$image" ] || die "kind $KIND_VERSION: no load balancer image name in pkg/cluster/internal/loadbalancer/const.go"
tag=${image#docker.io/}

if docker image inspect "$tag" >/dev/null 2>&1 \
   && [ "$(docker image inspect -f '{{index .Config.Labels "dev.gameday.component"}}' "$tag")" != kindlb ]; then
  log "keep    image $tag (present and not built here: used as it is)"
  exit 0
fi

tools=$(bash "$TESTBED_DIR/rootfs.sh" tools)
rootfs_image "$IMG/rootfs-tools:bookworm" "$tools"
dir=$(mktemp -d); mkdir -p "$dir/ctx/usr/local/bin"
cp "$(repo_bin kindlb ./clusters/images/kindlb)" "$dir/ctx/usr/local/bin/envoy"
chmod 0755 "$dir/ctx/usr/local/bin/envoy"
docker image inspect -f '{{.Id}}' "$IMG/rootfs-tools:bookworm" > "$dir/base.id"
cat > "$dir/Dockerfile" <<DOCKERFILE
FROM $IMG/rootfs-tools:bookworm
COPY ctx/ /
LABEL dev.gameday.component=kindlb
LABEL org.opencontainers.image.description="gameday kindlb: an envoy-compatible TCP load balancer for kind's API server config, built offline"
DOCKERFILE
docker_image "$tag" "$dir"
rm -rf "$dir"

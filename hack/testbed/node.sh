#!/usr/bin/env bash
# node.sh VERSION...: builds a kind node image gameday/node:VERSION for each Kubernetes
# VERSION, entirely from cached builds (k8s.sh, gobuild.sh, rootfs.sh) and the kind
# module's own base image files, the way kind's base and node image builders do:
#   1. gameday/kind-base: Debian rootfs + kind's images/base/files + containerd v2
#   2. the control-plane, etcd, CoreDNS, pause, kube-proxy, flannel and local-path images
#      under the names kubeadm and the manifests expect
#   3. a container of the base image with the Kubernetes binaries, /kind/version, the
#      default CNI (flannel) and storage (local-path) manifests, and every image imported
#      into its containerd, committed as the node image.
source "$(dirname "$0")/images.sh"

KIND_VERSION=$(cd "$REPO_ROOT" && go list -m -f '{{.Version}}' sigs.k8s.io/kind)
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
FLANNEL_VERSION=${FLANNEL_VERSION:-v0.28.10}
CNI_FLANNEL_VERSION=${CNI_FLANNEL_VERSION:-v0.9.1}   # last plugins release with the flannel plugin
LOCAL_PATH_VERSION=${LOCAL_PATH_VERSION:-v0.0.30}
IMG=gameday.local   # the repository prefix of images that have no upstream name here

kind_src() { (cd "$REPO_ROOT" && go mod download -json "sigs.k8s.io/kind@$KIND_VERSION") | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }
mod_dir() { (cd /tmp && go mod download -json "$1") | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }
gobuild() { bash "$TESTBED_DIR/gobuild.sh" "$@"; }

base_image() {
  local rootfs containerd kind dir
  rootfs=$(bash "$TESTBED_DIR/rootfs.sh" node)
  containerd=$(gobuild containerd "$CONTAINERD_VERSION")
  kind=$(kind_src)
  rootfs_image "$IMG/rootfs-node:bookworm" "$rootfs"
  dir=$(mktemp -d); mkdir -p "$dir/ctx/usr/local/bin"
  cp -r "$kind/images/base/files" "$dir/files"; chmod -R u+w "$dir/files"
  rm -rf "$dir/files/LICENSES" "$dir/files/etc/systemd/system/containerd-fuse-overlayfs.service"
  find "$dir/files" -type f -exec chmod 0644 {} +
  chmod 0755 "$dir"/files/usr/local/bin/* "$dir"/files/kind/bin/*
  # Debian's containerd-less runc lives in /usr/sbin; containerd v2 is our own build.
  cp "$containerd"/bin/containerd "$containerd"/bin/ctr "$containerd"/bin/containerd-shim-runc-v2 "$dir/ctx/usr/local/bin/"
  docker image inspect -f '{{.Id}}' "$IMG/rootfs-node:bookworm" > "$dir/base.id"
  cat > "$dir/Dockerfile" <<DOCKERFILE
FROM $IMG/rootfs-node:bookworm
COPY files/ /
COPY ctx/ /
RUN chmod 755 /kind /kind/bin \\
 && find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete \\
 && rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \\
          /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \\
          /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/* \\
 && echo "ReadKMsg=no" >> /etc/systemd/journald.conf \\
 && ln -sf /usr/lib/systemd/systemd /sbin/init \\
 && systemctl enable kubelet.service containerd.service undo-mount-hacks.service \\
 && systemctl mask systemd-binfmt.service \\
 && mkdir -p /etc/kubernetes/manifests /opt/cni/bin \\
 && for p in /usr/lib/cni/*; do ln -sf "\$p" /opt/cni/bin/; done \\
 && sed -i 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' /etc/containerd/config.toml \\
 && ctr oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' \\
    | jq 'del(.process.rlimits)' > /etc/containerd/cri-base.json \\
 && containerd --version
ENV container=docker
STOPSIGNAL SIGRTMIN+3
ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]
DOCKERFILE
  docker_image "$IMG/kind-base:$KIND_VERSION" "$dir"
  rm -rf "$dir"
}

# images_for VERSION: builds every image a node of VERSION preloads; prints their tags.
images_for() {
  local version=$1 k8s tools list tag etcd_v coredns_v pause_v
  k8s=$(bash "$TESTBED_DIR/k8s.sh" "$version")
  tools=$(bash "$TESTBED_DIR/rootfs.sh" tools)
  rootfs_image "$IMG/rootfs-tools:bookworm" "$tools" >&2
  list=$("$k8s/bin/kubeadm" config images list --kubernetes-version "$version")
  for tag in $list; do
    case "$tag" in
      */kube-proxy:*) tools_image "$tag" "$IMG/rootfs-tools:bookworm" '["/usr/local/bin/kube-proxy"]' \
                        "$k8s/bin/kube-proxy:/usr/local/bin/kube-proxy" >&2 ;;
      */kube-*:*) local c=${tag##*/}; c=${c%%:*}
                  scratch_image "$tag" "[\"/usr/local/bin/$c\"]" "$k8s/bin/$c:/usr/local/bin/$c" >&2 ;;
      */etcd:*) etcd_v=${tag##*:}; etcd_v=v${etcd_v%-*}
                local etcd; etcd=$(gobuild etcd "$etcd_v")
                scratch_image "$tag" '["/usr/local/bin/etcd"]' "$etcd/bin/etcd:/usr/local/bin/etcd" >&2 ;;
      */coredns:*) coredns_v=${tag##*:}
                   local coredns; coredns=$(gobuild coredns "$coredns_v")
                   scratch_image "$tag" '["/coredns"]' "$coredns/bin/coredns:/coredns" >&2 ;;
      */pause:*) pause_v=${tag##*:}
                 scratch_image "$tag" '["/pause"]' "$(repo_bin pause ./clusters/images/pause):/pause" >&2 ;;
      *) die "kubeadm lists an image this test bed does not know how to build: $tag" ;;
    esac
    printf '%s\n' "$tag"
  done
  # kind's containerd config names its own sandbox image; give it ours.
  local sandbox; sandbox=$(sed -n 's/.*sandbox_image = "\(.*\)"/\1/p' "$(kind_src)/images/base/files/etc/containerd/config.toml")
  docker tag "registry.k8s.io/pause:$pause_v" "$sandbox"; printf '%s\n' "$sandbox"

  local flannel cniflannel localpath
  flannel=$(gobuild flannel "$FLANNEL_VERSION"); cniflannel=$(gobuild cni-flannel "$CNI_FLANNEL_VERSION")
  tools_image "$IMG/flannel:$FLANNEL_VERSION" "$IMG/rootfs-tools:bookworm" '["/opt/bin/flanneld"]' \
    "$flannel/bin/flanneld:/opt/bin/flanneld" "$flannel/bin/install-conf:/opt/bin/install-conf" \
    "$cniflannel/bin/flannel:/flannel" >&2
  printf '%s\n' "$IMG/flannel:$FLANNEL_VERSION"
  localpath=$(gobuild local-path "$LOCAL_PATH_VERSION")
  scratch_image "$IMG/local-path-provisioner:$LOCAL_PATH_VERSION" "" \
    "$localpath/bin/local-path-provisioner:/usr/local/bin/local-path-provisioner" >&2
  busybox_image "$IMG/local-path-helper:bookworm" >&2
  printf '%s\n' "$IMG/local-path-provisioner:$LOCAL_PATH_VERSION" "$IMG/local-path-helper:bookworm"
}

# cni_manifest: flannel's own kube-flannel.yml from its module, pointed at our image
# (which also carries the flannel CNI plugin at /flannel for the install init container).
# The flannel CNI plugin that builds here (containernetworking/plugins v0.9.1) speaks
# CNI spec versions up to 0.4.0, so the CNI config asks for 0.3.1 instead of 1.0.0.
cni_manifest() {
  sed -e "s#ghcr.io/flannel-io/flannel-cni-plugin:[^ ]*#$IMG/flannel:$FLANNEL_VERSION#" \
      -e 's#"cniVersion": "1.0.0"#"cniVersion": "0.3.1"#' \
      -e "s#ghcr.io/flannel-io/flannel:[^ ]*#$IMG/flannel:$FLANNEL_VERSION#" \
      -e 's#imagePullPolicy: Always#imagePullPolicy: IfNotPresent#' \
      "$(mod_dir "github.com/flannel-io/flannel@$FLANNEL_VERSION")/Documentation/kube-flannel.yml"
}

# storage_manifest: kind's own default storage manifest (a Go constant in its node image
# builder), with our local-path images.
storage_manifest() {
  awk '/^const defaultStorageManifest = `/ {on=1; next} on && /^`/ {exit} on {print}' \
      "$(kind_src)/pkg/build/nodeimage/const_storage.go" \
    | sed -e "s#\` + storageProvisionerImage + \`#$IMG/local-path-provisioner:$LOCAL_PATH_VERSION#" \
          -e "s#\` + storageHelperImage + \`#$IMG/local-path-helper:bookworm#"
}

node_image() {
  local version=$1 tag="gameday/node:$1" k8s work images inputs have
  k8s=$(bash "$TESTBED_DIR/k8s.sh" "$version")
  work=$(mktemp -d)
  images=$(images_for "$version" | sort -u)
  cni_manifest > "$work/default-cni.yaml"
  storage_manifest > "$work/default-storage.yaml"
  grep -q "$IMG/flannel" "$work/default-cni.yaml" || die "flannel manifest has no image to replace"
  grep -q '"cniVersion": "0.3.1"' "$work/default-cni.yaml" || die "flannel manifest: CNI version not pinned to 0.3.1"
  grep -q "$IMG/local-path-helper" "$work/default-storage.yaml" || die "kind storage manifest not found"
  # Inputs: base image, binaries, every preloaded image's ID, the manifests.
  inputs=$( { docker image inspect -f '{{.Id}}' "$IMG/kind-base:$KIND_VERSION"
              sha256sum "$k8s"/bin/kubeadm "$k8s"/bin/kubelet "$k8s"/bin/kubectl | cut -d' ' -f1
              for i in $images; do echo "$i $(docker image inspect -f '{{.Id}}' "$i")"; done
              cat "$work"/*.yaml; } | sha256sum | cut -c1-16)
  have=$(docker image inspect -f '{{index .Config.Labels "dev.gameday.inputs"}}' "$tag" 2>/dev/null || true)
  if [ "$have" = "$inputs" ]; then log "cached  image $tag"; rm -rf "$work"; return 0; fi

  log "build   image $tag ($(echo $images | wc -w) preloaded images)"
  local start=$SECONDS cid
  cid=$(docker run -d --privileged --entrypoint=sleep "$IMG/kind-base:$KIND_VERSION" infinity)
  BUILD_CONTAINER=$cid
  # Removed however the script ends (a failing command exits it).
  trap 'docker rm -f "${BUILD_CONTAINER:-}" >/dev/null 2>&1 || true' EXIT
  for b in kubeadm kubelet kubectl; do docker cp "$k8s/bin/$b" "$cid:/usr/bin/$b"; done
  docker exec "$cid" sh -c 'chmod 0755 /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl && mkdir -p /kind/manifests'
  docker exec "$cid" sh -c "printf '%s' '$version' > /kind/version"
  docker cp "$work/default-cni.yaml" "$cid:/kind/manifests/default-cni.yaml"
  docker cp "$work/default-storage.yaml" "$cid:/kind/manifests/default-storage.yaml"
  # Import the images as kind's builder does: a containerd inside the container.
  docker exec -d "$cid" sh -c 'containerd >/var/log/containerd-build.log 2>&1'
  for _ in $(seq 1 30); do docker exec "$cid" ctr version >/dev/null 2>&1 && break; sleep 1; done
  for i in $images; do
    # ctr warns about cgroup v1 on every call: keep its output for failures.
    docker save "$i" | docker exec -i "$cid" ctr -n k8s.io images import --no-unpack \
      --label io.cri-containerd.pinned=pinned - >"$work/ctr.log" 2>&1 || { cat "$work/ctr.log" >&2; exit 1; }
  done
  docker exec "$cid" sh -c 'ctr -n k8s.io images ls -q 2>/dev/null' > "$work/imported"
  for i in $images; do
    grep -qx "$(normalize "$i")" "$work/imported" || die "image $i missing from the node's containerd"
  done
  docker exec "$cid" sh -c 'pkill containerd; sleep 1; rm -f /var/log/containerd-build.log'
  docker commit -c 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    -c "LABEL dev.gameday.inputs=$inputs" -c 'CMD []' "$cid" "$tag" >/dev/null
  log "built   image $tag in $((SECONDS - start))s"
  printf '%s node-image %s %ss\n' "$(date -u +%FT%TZ)" "$version" "$((SECONDS - start))" >> "$GAMEDAY_CACHE/timings.log"
  rm -rf "$work"
}

# normalize IMAGE: the name containerd stores for a Docker short name.
normalize() {
  case "$1" in
    */*.*/*|*.*/*) printf '%s\n' "$1" ;;
    */*) printf 'docker.io/%s\n' "$1" ;;
    *) printf 'docker.io/library/%s\n' "$1" ;;
  esac
}

[ $# -gt 0 ] || die "usage: node.sh VERSION..."
base_image
for v in "$@"; do node_image "$v"; done

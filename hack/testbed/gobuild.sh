#!/usr/bin/env bash
# gobuild.sh COMPONENT VERSION: builds one cluster component from its Go module into
# $OUT/bin (cached by component, version and recipe). Components:
#   containerd   github.com/containerd/containerd/v2   containerd, containerd-shim-runc-v2, ctr
#   etcd         go.etcd.io/etcd/server/v3             etcd (kubeadm needs no etcdctl)
#   coredns      github.com/coredns/coredns            coredns
#   flannel      github.com/flannel-io/flannel         flanneld (no cloud/ipsec/wireguard/udp backends), install-conf
#   cni-flannel  github.com/containernetworking/plugins (the last release with the flannel plugin)
#   local-path   github.com/rancher/local-path-provisioner
# Nothing is copied into the repository: sources come from the module cache.
source "$(dirname "$0")/lib.sh"
component=${1:?usage: gobuild.sh COMPONENT VERSION}
version=${2:?usage: gobuild.sh COMPONENT VERSION}

# gomod MODULE@VERSION...: a throwaway module in $OUT/src requiring the given modules.
gomod() {
  mkdir -p "$OUT/src" "$OUT/bin"
  cd "$OUT/src"
  go mod init gameday.local/build >/dev/null 2>&1
  for m in "$@"; do go mod edit -require="$m"; done
}
# modsrc MODULE@VERSION: the module's source directory in the module cache.
modsrc() { go mod download -json "$1" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p'; }
# static EXTRA_LDFLAGS GO_BUILD_ARGS...: a static, stripped, reproducible build.
static() { local x=$1; shift; CGO_ENABLED=0 go build -trimpath -ldflags "-s -w $x" "$@"; }

build_containerd() {
  gomod "github.com/containerd/containerd/v2@$version"
  printf '//go:build tools\npackage tools\nimport (\n_ "github.com/containerd/containerd/v2/cmd/containerd"\n_ "github.com/containerd/containerd/v2/cmd/ctr"\n_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"\n)\n' > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  local tags="no_btrfs no_devmapper no_zfs osusergo netgo static_build"
  local x="-X github.com/containerd/containerd/v2/version.Version=$version"
  # One build for both commands: shared packages compile once and the links overlap.
  static "$x" -tags "$tags" -o "$OUT/bin/" github.com/containerd/containerd/v2/cmd/containerd github.com/containerd/containerd/v2/cmd/ctr
  static "$x" -tags "$tags no_grpc" -o "$OUT/bin/containerd-shim-runc-v2" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
}

build_etcd() {
  gomod "go.etcd.io/etcd/server/v3@$version"
  mkdir -p etcd
  printf 'package main\n\nimport (\n\t"os"\n\n\t"go.etcd.io/etcd/server/v3/etcdmain"\n)\n\nfunc main() { etcdmain.Main(os.Args) }\n' > etcd/main.go
  go mod tidy -e >/dev/null 2>&1 || true
  static "" -o "$OUT/bin/etcd" ./etcd
}

# CoreDNS with only the plugins a kubeadm cluster and gameday use: kubeadm's Corefile
# (errors, health, ready, kubernetes, prometheus, forward, cache, loop, reload,
# loadbalance), log, hosts, and template for dnsOutage's servfail mode. The cloud
# backends (route53, azure, clouddns), etcd, dnstap and QUIC are left out, which
# roughly halves the build. This is CoreDNS's documented way to pick plugins: a main
# package that imports them and sets dnsserver.Directives, in plugin.cfg's order.
coredns_plugins="errors health ready kubernetes prometheus forward cache loop reload loadbalance log hosts template"
build_coredns() {
  gomod "github.com/coredns/coredns@$version"
  local src; src=$(modsrc "github.com/coredns/coredns@$version")
  mkdir -p coredns
  # The chosen plugin.cfg lines (name:package), in plugin.cfg's order.
  local chosen=() line want
  while IFS= read -r line; do
    for want in $coredns_plugins; do
      if [ "${line%%:*}" = "$want" ]; then chosen+=("$line"); fi
    done
  done < <(grep -v '^#' "$src/plugin.cfg" | grep ':')
  [ "${#chosen[@]}" = "$(wc -w <<<"$coredns_plugins")" ] || die "coredns $version: plugin.cfg lacks one of: $coredns_plugins"
  {
    printf '// Command coredns is CoreDNS %s with the plugins the gameday test bed needs.\npackage main\n\nimport (\n' "$version"
    printf '\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n\n'
    for line in "${chosen[@]}"; do printf '\t_ "github.com/coredns/coredns/plugin/%s"\n' "${line#*:}"; done
    printf ')\n\nfunc init() {\n\tdnsserver.Directives = []string{\n'
    for line in "${chosen[@]}"; do printf '\t\t"%s",\n' "${line%%:*}"; done
    printf '\t}\n}\n\nfunc main() { coremain.Run() }\n'
  } > coredns/main.go
  go mod tidy -e >/dev/null 2>&1 || true
  static "-X github.com/coredns/coredns/coremain.GitCommit=$version" -o "$OUT/bin/coredns" ./coredns
  local have; have=$("$OUT/bin/coredns" -plugins)
  for want in $coredns_plugins; do
    grep -qx "\s*$want" <<<"$have" || die "coredns $version: plugin $want is not registered"
  done
}

build_local_path() {
  gomod "github.com/rancher/local-path-provisioner@$version"
  printf '//go:build tools\npackage tools\nimport _ "github.com/rancher/local-path-provisioner"\n' > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  static "" -o "$OUT/bin/local-path-provisioner" github.com/rancher/local-path-provisioner
}

build_cni_flannel() {
  gomod "github.com/containernetworking/plugins@$version"
  printf '//go:build tools\npackage tools\nimport _ "github.com/containernetworking/plugins/plugins/meta/flannel"\n' > tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  static "" -o "$OUT/bin/flannel" github.com/containernetworking/plugins/plugins/meta/flannel
}

# flanneld's main package imports every backend; some (cloud, ipsec, wireguard, udp)
# need cgo or modules the proxy does not serve. Build a copy of the module from the
# module cache with only the vxlan and host-gw backends imported.
build_flannel() {
  local src; src=$(modsrc "github.com/flannel-io/flannel@$version")
  mkdir -p "$OUT/src" "$OUT/bin"
  cp -r "$src"/. "$OUT/src/"; chmod -R u+w "$OUT/src"
  cd "$OUT/src"
  sed -i -E '/_ "github.com\/flannel-io\/flannel\/pkg\/backend\/(alivpc|awsvpc|gce|ipsec|tencentvpc|udp|wireguard)"/d' main.go
  go mod tidy -e >/dev/null 2>&1 || true
  static "-X github.com/flannel-io/flannel/pkg/version.Version=$version" -o "$OUT/bin/flanneld" .
  # The manifest's install-cni init container runs this to copy the CNI config.
  static "" -o "$OUT/bin/install-conf" ./cmd/install_conf
}

build() {
  case "$component" in
    containerd) build_containerd ;;
    etcd) build_etcd ;;
    coredns) build_coredns ;;
    local-path) build_local_path ;;
    cni-flannel) build_cni_flannel ;;
    flannel) build_flannel ;;
    *) die "unknown component $component" ;;
  esac
  rm -rf "$OUT/src"
  ls -la "$OUT/bin"
}
recipe=$(declare -f build gomod modsrc static "build_${component//-/_}")
[ "$component" = coredns ] && recipe+=$(declare -p coredns_plugins)
cached "$component" "$version" "$recipe" -- build

#!/usr/bin/env bash
# k8s.sh VERSION: builds the Kubernetes binaries a kind node needs from the Go module
# k8s.io/kubernetes@VERSION (no release tarball, no registry). Prints the output dir,
# which holds bin/{kubeadm,kubelet,kubectl,kube-apiserver,kube-controller-manager,
# kube-scheduler,kube-proxy}.
source "$(dirname "$0")/lib.sh"
version=${1:?usage: k8s.sh vX.Y.Z}

build() {
  local mod="$OUT/src"
  mkdir -p "$mod" "$OUT/bin"
  cd "$mod"
  go mod init gameday.local/k8sbuild >/dev/null 2>&1
  go mod edit -require="k8s.io/kubernetes@$version"
  # Kubernetes' go.mod points every staging module at ./staging; a module consumer
  # must use the published v0.Y.Z of each instead.
  local gomod minor
  gomod=$(go mod download -json "k8s.io/kubernetes@$version" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  minor=${version#v1.}
  for m in $(sed -n 's#^\s*\(k8s.io/[a-z-]*\) => ./staging.*#\1#p' "$gomod"); do
    go mod edit -replace="$m=$m@v0.$minor"
  done
  # The tool imports make `go mod tidy` keep every command's dependency graph.
  printf 'package tools\n\nimport (\n' > tools.go
  for c in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c" >> tools.go
  done
  printf ')\n' >> tools.go
  sed -i 's#^package tools#//go:build tools\n\npackage tools#' tools.go
  go mod tidy -e >/dev/null 2>&1 || true
  local major=1 mn=${minor%%.*}
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=$major -X k8s.io/component-base/version.gitMinor=$mn -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z"
  # One `go build` for all seven commands compiles shared packages once and links in parallel.
  local pkgs=()
  for c in kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    pkgs+=("k8s.io/kubernetes/cmd/$c")
  done
  log "go build ${#pkgs[@]} commands of kubernetes $version"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$OUT/bin/" "${pkgs[@]}"
  rm -rf "$mod"
  "$OUT/bin/kubeadm" version -o short
}
cached k8s "$version" "$(declare -f build)" -- build

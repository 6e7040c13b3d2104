#!/usr/bin/env bash
# rootfs.sh NAME: builds a Debian root file system with debootstrap from Debian's
# registry and stores it as $OUT/rootfs.tar. NAME picks the package set:
#   node   the kind node (systemd, runc, iptables, ...): what kind's base image installs
#   tools  a small userland with iptables/nftables/conntrack for kube-proxy and flannel
source "$(dirname "$0")/lib.sh"
name=${1:?usage: rootfs.sh node|tools}
suite=bookworm

case "$name" in
  node) pkgs=systemd,systemd-sysv,dbus,runc,containernetworking-plugins,iptables,nftables,iproute2,conntrack,ethtool,socat,util-linux,mount,kmod,procps,libseccomp2,ebtables,ca-certificates,bash,jq,pigz,e2fsprogs,ipset,fuse-overlayfs,curl ;;
  tools) pkgs=iptables,nftables,conntrack,ipset,iproute2,kmod,ca-certificates ;;
  *) die "unknown rootfs $name" ;;
esac

# The Debian mirror this machine's apt uses (deb.debian.org when none is configured).
mirror() {
  local m
  m=$(sed -n 's/^URIs: *\(http[^ ]*\/debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1)
  [ -n "$m" ] || m=$(awk '/^deb / && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  printf '%s\n' "${m:-http://deb.debian.org/debian}"
}

build() {
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q debootstrap >/dev/null
  local root="$OUT/root"
  debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$(mirror)" >"$OUT/debootstrap.log" 2>&1 \
    || { tail -20 "$OUT/debootstrap.log"; return 1; }
  # Make the contents reproducible: no package caches, logs or machine identity.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
    "$root"/etc/machine-id "$root"/var/lib/dbus/machine-id "$root"/etc/hostname "$root"/etc/resolv.conf
  : > "$root/etc/machine-id"
  # ldconfig's aux cache records inodes and times; /etc/shadow records the day the
  # accounts were made (every account is locked, so no password ageing is lost).
  rm -f "$root/var/cache/ldconfig/aux-cache"
  local f
  for f in "$root/etc/shadow" "$root/etc/shadow-"; do
    if [ -f "$f" ]; then sed -i 's/^\([^:]*:[^:]*:\)[0-9]*:/\1:/' "$f"; fi
  done
  tar --numeric-owner --sort=name --mtime=@0 -C "$root" -cf "$OUT/rootfs.tar" .
  rm -rf "$root"
}
cached "rootfs-$name" "$suite" "$(declare -f build mirror; echo "$pkgs")" -- build

#!/usr/bin/env bash
# compare-caches.sh CACHE_A CACHE_B: checks that two independent test bed caches (for
# example this machine's and one filled by hack/ci-cold.sh) built the same bytes.
# For every component built in both under the same <version>-<recipe> key, it
# compares the SHA-256 of every file, and prints one line per component:
#   same       <component>/<key>  (N files)
#   DIFFERENT  <component>/<key>: the files that differ
# Exits 1 when any component differs.
set -euo pipefail
a=${1:?usage: compare-caches.sh CACHE_A CACHE_B}
b=${2:?usage: compare-caches.sh CACHE_A CACHE_B}
sums() { (cd "$1" && find . -type f ! -name .done ! -name '*.log' -print0 | sort -z | xargs -0 -r sha256sum); }
rc=0
for dir in "$a"/*/*/; do
  rel=${dir#"$a"/}; rel=${rel%/}
  [ -f "$a/$rel/.done" ] && [ -f "$b/$rel/.done" ] || continue
  if diff <(sums "$a/$rel") <(sums "$b/$rel") >/dev/null; then
    printf 'same       %s  (%s files)\n' "$rel" "$(sums "$a/$rel" | wc -l)"
  else
    printf 'DIFFERENT  %s: %s\n' "$rel" "$(diff <(sums "$a/$rel") <(sums "$b/$rel") | sed -n 's/^< [0-9a-f]*  //p' | tr '\n' ' ')"
    rc=1
  fi
done
exit "$rc"

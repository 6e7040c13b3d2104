#!/usr/bin/env bash
# gameday-runc: a Docker runtime that removes the capabilities this host cannot grant
# (missing from its bounding set) from an OCI spec before handing it to the real runc.
# Installed by docker.sh only on hosts where privileged containers otherwise fail.
#
# It edits the bundle's config.json on `create`/`run` and the process file given to
# `exec --process FILE`, because kind runs everything through privileged `docker exec`.
set -euo pipefail
real=${GAMEDAY_REAL_RUNC:-$(command -v runc)}

# Capabilities this host cannot grant: every name whose bit is not in our bounding set.
missing_caps() {
  local bnd; bnd=$((16#$(awk '/^CapBnd/ {print $2}' /proc/self/status)))
  local names=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)
  local i out=()
  for i in "${!names[@]}"; do
    (( (bnd >> i) & 1 )) || out+=("\"CAP_${names[$i]}\"")
  done
  local IFS=,; printf '[%s]' "${out[*]}"
}

strip() { # strip FILE JQPATH: removes missing caps from every capability set at JQPATH
  local file=$1 at=$2 caps; caps=$(missing_caps)
  [ "$caps" = "[]" ] && return 0
  jq --argjson drop "$caps" \
    "if $at.capabilities then $at.capabilities |= with_entries(.value |= ((. // []) - \$drop)) else . end" \
    "$file" > "$file.gameday" && mv "$file.gameday" "$file"
}

args=("$@") bundle="" process="" cmd=""
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[$i]}" in
    create|run|exec) [ -z "$cmd" ] && cmd=${args[$i]} ;;
    --bundle|-b) bundle=${args[$((i + 1))]} ;;
    --bundle=*) bundle=${args[$i]#--bundle=} ;;
    --process|-p) process=${args[$((i + 1))]} ;;
    --process=*) process=${args[$i]#--process=} ;;
  esac
done
case "$cmd" in
  create|run) [ -n "$bundle" ] && [ -f "$bundle/config.json" ] && strip "$bundle/config.json" .process ;;
  exec) [ -n "$process" ] && [ -f "$process" ] && strip "$process" "" ;;
esac
exec "$real" "$@"

#!/usr/bin/env bash
# gameday-images.sh [agent] [workload]: builds this repository's own images, which
# clusters load at creation time (they change with the code, so they are not baked
# into node images); with no argument, both:
#   agent     gameday/gameday:dev   the gameday binary, run in-cluster as the probe agent
#   workload  gameday/workload:dev  the test workload from fixtures/workload
source "$(dirname "$0")/images.sh"
parts=${*:-agent workload}
for part in $parts; do
  case "$part" in
    agent) scratch_image gameday/gameday:dev '["/gameday"]' "$(repo_bin gameday ./cmd/gameday):/gameday" ;;
    workload) scratch_image gameday/workload:dev '["/workload"]' "$(repo_bin workload ./fixtures/workload/cmd/workload):/workload" ;;
    *) die "gameday-images.sh: unknown image $part (want agent or workload)" ;;
  esac
done

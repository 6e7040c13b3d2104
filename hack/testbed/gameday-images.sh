#!/usr/bin/env bash
# gameday-images.sh: builds this repository's own images, which clusters load at
# creation time (they change with the code, so they are not baked into node images):
#   gameday/gameday:dev   the gameday binary, run in-cluster as the probe agent
#   gameday/workload:dev  the test workload from fixtures/workload
source "$(dirname "$0")/images.sh"
scratch_image gameday/gameday:dev '["/gameday"]' "$(repo_bin gameday ./cmd/gameday):/gameday"
scratch_image gameday/workload:dev '["/workload"]' "$(repo_bin workload ./fixtures/workload/cmd/workload):/workload"

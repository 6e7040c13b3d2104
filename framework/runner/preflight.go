package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gameday-dev/gameday/clusters"
)

// imageLookup returns the ID of an image in the local image store; the error wraps
// clusters.ErrImageNotLocal when the store does not have it.
type imageLookup func(ctx context.Context, image string) (string, error)

// preflight checks, before a kind cluster is created or reused, what a run would
// otherwise find missing only after the cluster is up: every image the run loads into
// the nodes (the probe agent and the images of the fixtures' pods) must be in the
// local image store, and so must a gameday node image (gameday/node:*, which no
// registry serves) when a new cluster is to be made from it. Other node images are
// left to kind, which pulls them. Runs on existing clusters need none of this: their
// nodes pull images themselves.
func (r *run) preflight(ctx context.Context) error {
	k := r.kindFor()
	if k == nil {
		return nil
	}
	objs, err := r.loadFixtures()
	if err != nil {
		return err
	}
	load := append([]string{r.opts.AgentImage}, fixtureImages(objs)...)
	nodeImage := ""
	if exists, err := k.Exists(); err == nil && !exists {
		nodeImage = k.NodeImage
		if nodeImage == "" {
			nodeImage = clusters.DefaultNodeImage(ctx) // only ever names a local image
		}
	}
	return checkImages(ctx, clusters.LocalImageID, load, nodeImage)
}

// checkImages reports every image of load missing from the local image store, and
// nodeImage when it is missing and cannot be pulled, each with how to get it, in one
// error. Nothing has been created when it fails.
func checkImages(ctx context.Context, lookup imageLookup, load []string, nodeImage string) error {
	var problems []string
	check := func(image, role string) {
		_, err := lookup(ctx, image)
		switch {
		case err == nil:
		case errors.Is(err, clusters.ErrImageNotLocal):
			problems = append(problems, fmt.Sprintf("%s %s is not in the local image store: %s", role, image, clusters.BuildHint(image)))
		default:
			problems = append(problems, fmt.Sprintf("%s %s: %v", role, image, err))
		}
	}
	for i, image := range load {
		role := "fixture image"
		if i == 0 {
			role = "probe agent image"
		}
		check(image, role)
	}
	if nodeImage != "" && clusters.OfflineImage(nodeImage) {
		check(nodeImage, "node image")
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("before creating anything: %s", strings.Join(problems, "; "))
}

package clusters

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"sigs.k8s.io/kind/pkg/cluster/nodes"
	kindexec "sigs.k8s.io/kind/pkg/exec"
)

// ImageLoad says, for one image given to LoadImagesReport, which nodes it was copied
// into and which already had exactly that image.
type ImageLoad struct {
	// Image is the image as given, e.g. "gameday/gameday:dev".
	Image string
	// ID is the local image's ID (docker image inspect's .Id).
	ID string
	// Loaded are the nodes the image was copied into.
	Loaded []string
	// Present are the nodes that already held the same image ID under that name.
	Present []string
}

// LoadImages copies local images into every node of the cluster (as `kind load
// docker-image` does), skipping nodes that already hold the same image ID under the
// same name. Images missing locally are an error.
func (k *Kind) LoadImages(ctx context.Context, images ...string) error {
	_, err := k.LoadImagesReport(ctx, images...)
	return err
}

// LoadImagesReport is LoadImages, also saying per image which nodes it was loaded
// into and which already had it. Nodes are asked through containerd's ctr (the node
// images of this project's offline test bed have no crictl, which kind's own check
// needs): a node has an image when `ctr -n k8s.io images ls` lists its name and the
// manifest behind it, or that manifest's config, has the local image's ID.
func (k *Kind) LoadImagesReport(ctx context.Context, images ...string) ([]ImageLoad, error) {
	all, err := k.provider().ListNodes(k.name())
	if err != nil {
		return nil, fmt.Errorf("listing nodes of kind cluster %q: %w", k.name(), err)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("kind cluster %q has no nodes (does it exist?)", k.name())
	}
	listings := make([]map[string]string, len(all)) // per node: image name -> digest
	for i, n := range all {
		out, err := nodeCommand(n)(ctx, "ctr", "--namespace=k8s.io", "images", "ls")
		if err == nil {
			listings[i] = parseCtrImages(out)
		} // else: an empty listing, so the image is loaded as kind would
	}
	var result []ImageLoad
	for _, image := range images {
		id, err := LocalImageID(ctx, image)
		if errors.Is(err, ErrImageNotLocal) {
			return result, fmt.Errorf("%w; %s", err, BuildHint(image))
		}
		if err != nil {
			return result, err
		}
		load := ImageLoad{Image: image, ID: id}
		var missing []nodes.Node
		for i, n := range all {
			if imageOnNode(ctx, nodeCommand(n), listings[i], image, id) {
				load.Present = append(load.Present, n.String())
			} else {
				missing = append(missing, n)
				load.Loaded = append(load.Loaded, n.String())
			}
		}
		if len(missing) > 0 {
			if err := loadImage(ctx, image, missing); err != nil {
				return result, err
			}
		}
		result = append(result, load)
	}
	return result, nil
}

// ErrImageNotLocal is wrapped by LocalImageID's error when the container engine
// answered and does not have the image.
var ErrImageNotLocal = errors.New("image not in the local image store")

// LocalImageID returns the ID of an image in the local Docker (or Podman) image
// store. The error wraps ErrImageNotLocal when the engine does not have it.
func LocalImageID(ctx context.Context, image string) (string, error) {
	out, err := kindexec.Output(kindexec.CommandContext(ctx, runtimeBinary(), "image", "inspect", "-f", "{{.Id}}", image))
	if err == nil {
		return strings.TrimSpace(string(out)), nil
	}
	var runErr *kindexec.RunError
	if errors.As(err, &runErr) && imageUnknown(runErr.Output) {
		return "", fmt.Errorf("%s: %w", image, ErrImageNotLocal)
	}
	return "", fmt.Errorf("inspecting image %s with %s: %w", image, runtimeBinary(), describeRunError(err))
}

// nodeRunner runs a command inside a node and returns its standard output.
type nodeRunner func(ctx context.Context, command string, args ...string) ([]byte, error)

func nodeCommand(n nodes.Node) nodeRunner {
	return func(ctx context.Context, command string, args ...string) ([]byte, error) {
		var out bytes.Buffer
		err := n.CommandContext(ctx, command, args...).SetStdout(&out).Run()
		return out.Bytes(), err
	}
}

// imageOnNode decides whether a node already holds image with the local ID id:
// listing (from `ctr images ls`) must name the image, and the digest it points at,
// or the config of that manifest (or of a manifest in that index), must be id.
// Docker's classic image store reports the config digest as the ID, its containerd
// image store the manifest or index digest; a digest names exactly one content, so
// either match proves the image is the same. Anything unreadable means "load it".
func imageOnNode(ctx context.Context, run nodeRunner, listing map[string]string, image, id string) bool {
	digest, ok := listing[normalizeImageRef(image)]
	if !ok || id == "" {
		return false
	}
	if digest == id {
		return true
	}
	// A manifest, or an index of manifests: read at most one level down.
	out, err := run(ctx, "ctr", "--namespace=k8s.io", "content", "get", digest)
	if err != nil {
		return false
	}
	config, children := parseManifest(out)
	if config == id {
		return true
	}
	for _, child := range children {
		if child == id {
			return true
		}
		out, err := run(ctx, "ctr", "--namespace=k8s.io", "content", "get", child)
		if err != nil {
			continue
		}
		if config, _ := parseManifest(out); config == id {
			return true
		}
	}
	return false
}

// parseCtrImages reads the table `ctr images ls` prints (REF TYPE DIGEST SIZE
// PLATFORMS LABELS, SIZE holding a space) into image name -> target digest.
func parseCtrImages(out []byte) map[string]string {
	images := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 3 || f[0] == "REF" || !strings.HasPrefix(f[2], "sha256:") {
			continue
		}
		images[f[0]] = f[2]
	}
	return images
}

// parseManifest returns the config digest of an image manifest, or the manifest
// digests of an index (OCI or Docker manifest list).
func parseManifest(data []byte) (config string, manifests []string) {
	var m struct {
		Config struct {
			Digest string `json:"digest"`
		} `json:"config"`
		Manifests []struct {
			Digest string `json:"digest"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return "", nil
	}
	for _, c := range m.Manifests {
		manifests = append(manifests, c.Digest)
	}
	return m.Config.Digest, manifests
}

// normalizeImageRef spells an image name as containerd stores it, as Docker's
// reference parsing does: "gameday/gameday:dev" is
// "docker.io/gameday/gameday:dev", "busybox" is "docker.io/library/busybox:latest".
func normalizeImageRef(image string) string {
	name, digest, hasDigest := strings.Cut(image, "@")
	first, rest, hasSlash := strings.Cut(name, "/")
	switch {
	case !hasSlash:
		name = "docker.io/library/" + name
	case first == "docker.io" || first == "index.docker.io":
		if !strings.Contains(rest, "/") {
			rest = "library/" + rest
		}
		name = "docker.io/" + rest
	case strings.ContainsAny(first, ".:") || first == "localhost":
		// a registry host already
	default:
		name = "docker.io/" + name
	}
	lastPart := name[strings.LastIndex(name, "/")+1:]
	if !strings.Contains(lastPart, ":") && !hasDigest {
		name += ":latest"
	}
	if hasDigest {
		return name + "@" + digest
	}
	return name
}

// imageUnknown reports whether an image inspect's output says the image does not
// exist (Docker: "No such image", Podman: "image not known").
func imageUnknown(output []byte) bool {
	out := strings.ToLower(string(output))
	return strings.Contains(out, "no such") || strings.Contains(out, "not known")
}

// BuildHint says how to get an image that is missing from the local image store:
// the make target of the gameday repository that builds it, or docker pull/build
// for images of the user's own.
func BuildHint(image string) string {
	switch ref := normalizeImageRef(image); {
	case ref == "docker.io/gameday/gameday:dev":
		return "build it with `make agent-image` in the gameday repository"
	case ref == "docker.io/gameday/workload:dev":
		return "build it with `make images` in the gameday repository"
	case strings.HasPrefix(ref, "docker.io/gameday/node:"):
		version := strings.TrimPrefix(ref, "docker.io/gameday/node:")
		return fmt.Sprintf("build it with `make node-image K8S_VERSION=%s` in the gameday repository (as root)", version)
	case strings.HasPrefix(ref, "docker.io/gameday/"):
		return "build it with `make testbed` in the gameday repository (as root)"
	default:
		return fmt.Sprintf("pull it (`docker pull %s`) or build it", image)
	}
}

// OfflineImage reports whether image is one of gameday's own (gameday/...), which
// are built locally (make testbed) and served by no registry.
func OfflineImage(image string) bool {
	return strings.HasPrefix(normalizeImageRef(image), "docker.io/gameday/")
}

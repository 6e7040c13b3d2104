package clusters

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// ctrListing is `ctr -n k8s.io images ls` as containerd 1.6 prints it on a kind node.
const ctrListing = `REF                                        TYPE                                                      DIGEST                                                                  SIZE      PLATFORMS   LABELS
docker.io/gameday/gameday:dev              application/vnd.docker.distribution.manifest.v2+json      sha256:aaaa000000000000000000000000000000000000000000000000000000000001 9.8 MiB   linux/amd64 io.cri-containerd.image=managed
docker.io/library/busybox:latest           application/vnd.oci.image.index.v1+json                   sha256:bbbb000000000000000000000000000000000000000000000000000000000002 2.1 MiB   linux/amd64,linux/arm64 -
registry.k8s.io/pause:3.10                 application/vnd.docker.distribution.manifest.v2+json      sha256:cccc000000000000000000000000000000000000000000000000000000000003 320.0 KiB linux/amd64 io.cri-containerd.image=managed,io.cri-containerd.pinned=pinned
sha256:dddd000000000000000000000000000000000000000000000000000000000004 application/vnd.docker.distribution.manifest.v2+json sha256:aaaa000000000000000000000000000000000000000000000000000000000001 9.8 MiB linux/amd64 io.cri-containerd.image=managed
import-2026-11-21@sha256:aaaa000000000000000000000000000000000000000000000000000000000001 application/vnd.docker.distribution.manifest.v2+json sha256:aaaa000000000000000000000000000000000000000000000000000000000001 9.8 MiB linux/amd64 -
`

const (
	manifestDigest = "sha256:aaaa000000000000000000000000000000000000000000000000000000000001"
	indexDigest    = "sha256:bbbb000000000000000000000000000000000000000000000000000000000002"
	agentConfig    = "sha256:dddd000000000000000000000000000000000000000000000000000000000004"
	busyboxChild   = "sha256:eeee000000000000000000000000000000000000000000000000000000000005"
	busyboxConfig  = "sha256:ffff000000000000000000000000000000000000000000000000000000000006"
)

func TestParseCtrImages(t *testing.T) {
	t.Parallel()
	got := parseCtrImages([]byte(ctrListing))
	assert.DeepEqual(t, got, map[string]string{
		"docker.io/gameday/gameday:dev":       manifestDigest,
		"docker.io/library/busybox:latest":    indexDigest,
		"registry.k8s.io/pause:3.10":          "sha256:cccc000000000000000000000000000000000000000000000000000000000003",
		agentConfig:                           manifestDigest,
		"import-2026-11-21@" + manifestDigest: manifestDigest,
	})
	assert.Check(t, is.Len(parseCtrImages([]byte("REF TYPE DIGEST SIZE PLATFORMS LABELS\n")), 0))
	assert.Check(t, is.Len(parseCtrImages([]byte("ctr: not found\n")), 0))
}

func TestNormalizeImageRef(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"gameday/gameday:dev":                 "docker.io/gameday/gameday:dev",
		"busybox":                             "docker.io/library/busybox:latest",
		"busybox:1.36":                        "docker.io/library/busybox:1.36",
		"docker.io/busybox":                   "docker.io/library/busybox:latest",
		"docker.io/gameday/workload:dev":      "docker.io/gameday/workload:dev",
		"index.docker.io/me/app:v1":           "docker.io/me/app:v1",
		"registry.k8s.io/pause:3.10":          "registry.k8s.io/pause:3.10",
		"localhost/app":                       "localhost/app:latest",
		"localhost:5000/team/app:v2":          "localhost:5000/team/app:v2",
		"ghcr.io/me/app@sha256:0123":          "ghcr.io/me/app@sha256:0123",
		"me/app:v1@sha256:0123":               "docker.io/me/app:v1@sha256:0123",
		"registry.example.com:443/a/b/c:tag1": "registry.example.com:443/a/b/c:tag1",
	} {
		assert.Check(t, is.Equal(normalizeImageRef(in), want), in)
	}
}

func TestImageOnNode(t *testing.T) {
	t.Parallel()
	listing := parseCtrImages([]byte(ctrListing))
	content := map[string]string{
		manifestDigest: `{"schemaVersion":2,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"` + agentConfig + `"},"layers":[]}`,
		indexDigest:    `{"schemaVersion":2,"manifests":[{"digest":"sha256:9999"},{"digest":"` + busyboxChild + `"}]}`,
		busyboxChild:   `{"schemaVersion":2,"config":{"digest":"` + busyboxConfig + `"}}`,
	}
	tests := []struct {
		name  string
		image string
		id    string
		want  bool
	}{
		{name: "config digest is the ID (classic Docker store)", image: "gameday/gameday:dev", id: agentConfig, want: true},
		{name: "manifest digest is the ID (containerd store)", image: "docker.io/gameday/gameday:dev", id: manifestDigest, want: true},
		{name: "rebuilt image: another ID", image: "gameday/gameday:dev", id: "sha256:1234", want: false},
		{name: "name not on the node", image: "gameday/workload:dev", id: agentConfig, want: false},
		{name: "same ID under another name", image: "gameday/other:dev", id: agentConfig, want: false},
		{name: "index: config of a child manifest", image: "busybox", id: busyboxConfig, want: true},
		{name: "index digest is the ID", image: "busybox:latest", id: indexDigest, want: true},
		{name: "index: no child matches", image: "busybox", id: agentConfig, want: false},
		{name: "manifest unreadable", image: "registry.k8s.io/pause:3.10", id: "sha256:0000", want: false},
		{name: "no local ID", image: "gameday/gameday:dev", id: "", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls []string
			run := func(_ context.Context, command string, args ...string) ([]byte, error) {
				calls = append(calls, command+" "+strings.Join(args, " "))
				if command != "ctr" || len(args) != 4 || args[0] != "--namespace=k8s.io" || args[1] != "content" || args[2] != "get" {
					return nil, errors.New("unexpected command")
				}
				c, ok := content[args[3]]
				if !ok {
					return nil, errors.New("ctr: content digest not found")
				}
				return []byte(c), nil
			}
			assert.Check(t, is.Equal(imageOnNode(context.Background(), run, listing, tt.image, tt.id), tt.want), "calls: %v", calls)
			assert.Check(t, len(calls) <= 3, "calls: %v", calls)
		})
	}
	// A node whose listing failed is loaded.
	assert.Check(t, !imageOnNode(context.Background(), nil, nil, "gameday/gameday:dev", agentConfig))
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/gameday-dev/gameday/clusters"
	"github.com/gameday-dev/gameday/framework/guard"
	"github.com/gameday-dev/gameday/framework/lease"
	"github.com/gameday-dev/gameday/framework/probe"
)

// kindFor returns the kind provider a scenario asks for, or nil for an existing cluster.
func (r *run) kindFor() *clusters.Kind {
	k := r.sc.Spec.Cluster.Kind
	if k == nil {
		return nil
	}
	// The same resolution CheckPaths validated with: a shipped name, or a file's path.
	cfg, err := r.sc.ResolveKindConfig()
	if err != nil {
		cfg = k.Config // Run has checked it with CheckPaths
	}
	image := k.NodeImage
	if r.opts.NodeImage != "" {
		image = r.opts.NodeImage
	}
	return &clusters.Kind{Name: k.Name, Config: cfg, NodeImage: image, Reuse: k.Reuse == nil || *k.Reuse}
}

// connect brings up or connects to the cluster and applies the guard rails before
// anything in the cluster is changed.
func (r *run) connect(ctx context.Context) error {
	var err error
	if r.kind = r.kindFor(); r.kind != nil {
		r.progress.Phase("cluster")
		r.progress.Printf("kind cluster %q: creating or reusing", r.kind.Name)
		start := time.Now()
		r.cluster, err = r.kind.Up(ctx)
		if err != nil {
			return err
		}
		verb := "reused"
		if r.cluster.Created {
			verb = "created"
		}
		r.progress.Printf("kind cluster %q %s in %s (kubeconfig %s)", r.cluster.Name, verb, time.Since(start).Round(time.Second), r.cluster.KubeconfigPath)
	} else {
		kc := r.sc.Spec.Cluster.Kubeconfig
		r.cluster, err = clusters.Existing{Path: r.path(kc.Path), Context: kc.Context}.Connect(ctx)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidInput, err)
		}
	}
	// Nothing above changed anything in an existing cluster (kind clusters are
	// gameday's own); the run lease, taken after this, is the first write.
	if err := r.checkGuard(); err != nil {
		return err
	}
	r.client, err = probe.NewClientset(r.cluster.REST)
	if err != nil {
		return fmt.Errorf("client for %s: %w", r.cluster.Name, err)
	}
	return nil
}

// checkGuard applies the guard rails to r.cluster; a refusal wraps ErrRefused and
// the *guard.RefusedError.
func (r *run) checkGuard() error {
	var opts []guard.Option
	if r.opts.AllowProductionLooking {
		opts = append(opts, guard.AllowProductionLooking())
	}
	if err := guard.Check(r.cluster, r.allowedContexts(), opts...); err != nil {
		return fmt.Errorf("%w: %w", ErrRefused, err)
	}
	return nil
}

// allowedContexts are the contexts this run may act on, each one named by a person:
// the --allow-context flags, and the context the scenario names when it sets
// kubeconfig.allow. Never the context a kubeconfig happens to have as current: a
// scenario that allows without naming a context allows nothing.
func (r *run) allowedContexts() []string {
	allowed := append([]string(nil), r.opts.AllowContexts...)
	if kc := r.sc.Spec.Cluster.Kubeconfig; kc != nil && kc.Allow && kc.Context != "" {
		allowed = append(allowed, kc.Context)
	}
	return allowed
}

// acquireLease takes the cluster's one-run-at-a-time lease; the returned function
// releases it, or, with keep, stops renewing it and leaves it to expire (actions
// are still in place). Losing the lease mid-run (another process took it over
// after it expired) aborts the run through abort.
func (r *run) acquireLease(ctx context.Context, abort context.CancelCauseFunc) (func(keep bool), error) {
	l, err := lease.Acquire(ctx, r.client, lease.Identity(r.id, r.sc.Metadata.Name))
	if err != nil {
		var held *lease.HeldError
		if errors.As(err, &held) {
			return func(bool) {}, fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return func(bool) {}, fmt.Errorf("taking the cluster lease: %w", err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-l.Lost():
			abort(fmt.Errorf("lost the cluster lease: %v", l.Err()))
		case <-done:
		}
	}()
	return func(keep bool) {
		close(done)
		if keep {
			l.Abandon()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = l.Release(ctx)
	}, nil
}

// teardownCluster deletes a kind cluster this run created, unless it is kept.
func (r *run) teardownCluster(ctx context.Context) {
	if r.kind == nil || r.cluster == nil || !r.cluster.Created {
		return
	}
	keep := true
	if k := r.sc.Spec.Cluster.Kind; k != nil && k.Keep != nil {
		keep = *k.Keep
	}
	if r.opts.KeepCluster != nil {
		keep = *r.opts.KeepCluster
	}
	if keep {
		r.progress.Printf("kind cluster %q kept (delete it with `gameday cluster down --name %s`)", r.cluster.Name, r.cluster.Name)
		return
	}
	r.progress.Printf("deleting kind cluster %q", r.cluster.Name)
	if err := r.kind.Down(ctx); err != nil {
		r.progress.Printf("warning: %v", err)
	}
}

// runFolderPath joins a name to the run folder.
func (r *run) runFolderPath(name string) string { return filepath.Join(r.dir, name) }

// path resolves a path written in the scenario (CheckPaths has checked it exists);
// an empty path stays empty, meaning "the default".
func (r *run) path(p string) string {
	if p == "" {
		return ""
	}
	if resolved, err := r.sc.ResolvePath(p); err == nil {
		return resolved
	}
	return p
}

package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// defaultPollInterval is how often the CDS and LDS files are checked for changes.
const defaultPollInterval = 500 * time.Millisecond

// server is the load balancer: it follows the CDS and LDS files, serves the
// listeners and health checks the endpoints.
type server struct {
	log          *slog.Logger
	pollInterval time.Duration

	ctx      context.Context // cancelled by close; parent of the health checkers
	cancel   context.CancelFunc
	clusters atomic.Pointer[map[string]*cluster]
	ready    atomic.Bool

	mu        sync.Mutex // serialises reloads and guards the fields below
	cds, lds  watchedFile
	listeners map[string]*listener
	reported  map[string]bool // ignored fields already logged

	watching  sync.WaitGroup
	accepting sync.WaitGroup
}

// newServer returns a server for the given CDS and LDS files; start runs it.
func newServer(log *slog.Logger, cdsPath, ldsPath string, pollInterval time.Duration) *server {
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{
		log:          log,
		pollInterval: pollInterval,
		ctx:          ctx,
		cancel:       cancel,
		cds:          newWatchedFile(cdsPath),
		lds:          newWatchedFile(ldsPath),
		listeners:    map[string]*listener{},
		reported:     map[string]bool{},
	}
	s.clusters.Store(&map[string]*cluster{})
	return s
}

// clusterMap returns the clusters as last applied; the map must not be modified.
func (s *server) clusterMap() map[string]*cluster { return *s.clusters.Load() }

// start applies the files as they are now, reports ready and follows their changes.
func (s *server) start() {
	s.reload()
	s.ready.Store(true)
	s.watching.Add(1)
	go func() {
		defer s.watching.Done()
		t := time.NewTicker(s.pollInterval)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
				s.reload()
			}
		}
	}()
}

// close stops watching and health checking and closes the listeners. Proxied
// connections are left to finish (or to die with the process).
func (s *server) close() {
	s.cancel()
	s.watching.Wait()
	s.mu.Lock()
	for name, l := range s.listeners {
		l.ln.Close()
		delete(s.listeners, name)
	}
	s.mu.Unlock()
	s.accepting.Wait()
	for _, c := range s.clusterMap() {
		for _, e := range c.endpoints {
			<-e.done
		}
	}
}

// reload applies whichever of the CDS and LDS files changed, CDS first (kind moves
// CDS into place before LDS, and a listener needs its cluster). A file that cannot
// be parsed is logged and the previous configuration stays, as with envoy.
func (s *server) reload() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if data, ok := s.changed(&s.cds); ok {
		if specs, ignored, err := ParseCDS(data); err != nil {
			s.log.Error("rejected CDS update, keeping the previous clusters", "file", s.cds.path, "error", err)
		} else {
			s.reportIgnored(s.cds.path, ignored)
			s.applyClusters(specs)
		}
	}
	if data, ok := s.changed(&s.lds); ok {
		if specs, ignored, err := ParseLDS(data); err != nil {
			s.log.Error("rejected LDS update, keeping the previous listeners", "file", s.lds.path, "error", err)
		} else {
			s.reportIgnored(s.lds.path, ignored)
			s.applyListeners(specs)
		}
	}
}

// changed polls f and returns its content if it changed; read errors are logged.
func (s *server) changed(f *watchedFile) ([]byte, bool) {
	data, changed, err := f.poll()
	if err != nil {
		s.log.Warn("cannot read configuration file, keeping the previous configuration", "file", f.path, "error", err)
	}
	return data, changed && err == nil
}

// reportIgnored logs, once per file and field, the fields that were not understood.
func (s *server) reportIgnored(file string, fields []string) {
	var fresh []string
	for _, f := range fields {
		if k := file + "\x00" + f; !s.reported[k] {
			s.reported[k] = true
			fresh = append(fresh, f)
		}
	}
	if len(fresh) > 0 {
		s.log.Info("ignoring unsupported fields", "file", file, "fields", strings.Join(fresh, ","))
	}
}

// watchedFile follows one file by polling its size, modification time and inode
// (kind replaces the file with mv, which changes the inode).
type watchedFile struct {
	path  string
	stamp fileStamp
	data  []byte
}

// newWatchedFile returns a watchedFile whose first poll reads the file (or reports
// why it cannot).
func newWatchedFile(path string) watchedFile {
	return watchedFile{path: path, stamp: fileStamp{size: -1}}
}

// fileStamp identifies a version of a file; the zero value means "missing".
type fileStamp struct {
	exists bool
	size   int64
	mtime  int64
	ino    uint64
}

// stampOf returns the file's current stamp.
func stampOf(path string) fileStamp {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	st := fileStamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.ino = uint64(sys.Ino)
	}
	return st
}

// poll returns the file's content when it differs from the last content seen. An
// error (such as the file missing) is returned once per change of the file's stamp.
func (f *watchedFile) poll() (data []byte, changed bool, err error) {
	st := stampOf(f.path)
	if st == f.stamp {
		return nil, false, nil
	}
	f.stamp = st
	data, err = os.ReadFile(f.path)
	if err != nil {
		return nil, false, err
	}
	if f.data != nil && bytes.Equal(data, f.data) {
		return nil, false, nil
	}
	f.data = data
	return data, true, nil
}

package probe

import (
	"bytes"
	"testing"
	"time"
)

// FuzzReadAgentLog feeds arbitrary agent output (it crosses the API server from a
// pod's log, so it is untrusted input) to the parser: it must never panic, and every
// sample it emits must carry a probe name and a time.
func FuzzReadAgentLog(f *testing.F) {
	f.Add([]byte(`{"probe":"http","at":"2026-11-22T01:02:03.5Z","ok":true,"latencyNs":1200000}` + "\n"))
	f.Add([]byte(`{"heartbeat":"2026-11-22T01:02:03Z"}` + "\n" + `{"probe":"dns","at":"2026-11-22T01:02:04Z","ok":false,"error":"SERVFAIL"}`))
	f.Add([]byte("not json\n{\"probe\":\n\x00\xff"))
	f.Add(bytes.Repeat([]byte(`{"probe":"x","at":"2026-11-22T01:02:03Z","ok":true}`+"\n"), 50))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = ReadAgentLog(bytes.NewReader(data), func(s Sample) {
			if s.Probe == "" || s.At.Equal(time.Time{}) {
				t.Fatalf("emitted a sample without probe or time: %+v", s)
			}
		})
	})
}

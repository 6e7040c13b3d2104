package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead reads arbitrary journal files: a crash can leave any prefix of a line, and
// a disk any bytes; Read must return a state or an error, never panic, and every
// outstanding record it reports must have an ID.
func FuzzRead(f *testing.F) {
	f.Add([]byte(`{"op":"planned","at":"2026-11-22T01:02:03Z","record":{"id":"r/s/node/w","kind":"nodeLoss","mode":"stop","runID":"r","step":"s","cluster":"c","target":"node/w","plannedAt":"2026-11-22T01:02:03Z"}}` + "\n"))
	f.Add([]byte(`{"op":"planned","record":{"id":"a","kind":"dnsOutage","target":"x"}}` + "\n" + `{"op":"reverted","record":{"id":"a"}}` + "\n" + `{"op":"inj`))
	f.Add([]byte("\n\n{}\n[]\nnull\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), FileName)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		state, err := Read(path)
		if err != nil {
			return
		}
		for _, r := range state.Outstanding() {
			if r.ID == "" {
				t.Fatalf("outstanding record without ID: %+v", r)
			}
		}
	})
}

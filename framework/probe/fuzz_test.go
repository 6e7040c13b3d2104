package probe

import (
	"bytes"
	"reflect"
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

// FuzzAgentTargetFlag feeds arbitrary --http and --dns values (name=target[,interval=D]
// [,timeout=D]) to the agent's flag parser: it must never panic, and a value it accepts
// must survive Args and a second parse unchanged, timings included.
func FuzzAgentTargetFlag(f *testing.F) {
	f.Add("web=http://10.96.0.20/,interval=250ms,timeout=1s")
	f.Add("q=http://10.96.0.21/?a=1,2,timeout=3s")
	f.Add("dns=x.test@10.96.0.10:53,timeout=500ms,interval=5s")
	f.Add("d=x.test@[fd00::a]")
	f.Add("a=http://x/,interval=1s,interval=2s")
	f.Add("a=http://x/,timeout=-1s")
	f.Add("a,interval=1s=http://x/")
	f.Fuzz(func(t *testing.T, value string) {
		for _, flag := range []string{"--http", "--dns"} {
			cfg, err := ParseAgentArgs([]string{flag + "=" + value})
			if err != nil {
				continue
			}
			again, err := ParseAgentArgs(cfg.Args())
			if err != nil {
				t.Fatalf("%s=%q parsed to %+v, whose Args %q fail: %v", flag, value, cfg, cfg.Args(), err)
			}
			if !reflect.DeepEqual(again, cfg) {
				t.Fatalf("%s=%q: %+v, after Args and a second parse %+v", flag, value, cfg, again)
			}
			for name, timing := range cfg.Timings() {
				if timing.Interval <= 0 || timing.Timeout <= 0 {
					t.Fatalf("%s=%q: probe %s runs at %+v", flag, value, name, timing)
				}
			}
		}
	})
}

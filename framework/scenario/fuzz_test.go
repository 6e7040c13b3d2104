package scenario_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	. "github.com/gameday-dev/gameday/framework/scenario"
)

// FuzzLoad feeds arbitrary bytes to Load: it must never panic, and it must either return
// a scenario that validates or an Errors value whose problems are all located and sorted.
func FuzzLoad(f *testing.F) {
	var seeds []string
	for _, pattern := range []string{"testdata/*.yaml", filepath.Join(scenariosDir, "*.yaml")} {
		matches, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, matches...)
	}
	for _, file := range seeds {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, data := range []string{"", "---", "a: &a [*a]", "<<: {}", minimalScenario + "  fixtures: &f [*f]\n"} {
		f.Add([]byte(data))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Load("fuzz.yaml", data)
		if err == nil {
			if s == nil {
				t.Fatal("no error and no scenario")
			}
			if err := s.Validate(); err != nil {
				t.Fatalf("a loaded scenario does not validate: %v", err)
			}
			return
		}
		if s != nil {
			t.Fatal("a scenario returned with an error")
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("want a non-empty scenario.Errors, got %T: %v", err, err)
		}
		for _, e := range errs {
			if e.File != "fuzz.yaml" || e.Message == "" || e.Line < 0 {
				t.Fatalf("badly located problem: %#v", e)
			}
		}
		located := errs
		if last := errs[len(errs)-1]; last.Line == 0 && len(errs) > MaxReportedErrors {
			located = errs[:len(errs)-1] // the "too many problems" note comes last
		}
		if !slices.IsSortedFunc(located, func(a, b FieldError) int { return a.Line - b.Line }) {
			t.Fatalf("problems not sorted by line:\n%v", err)
		}
	})
}

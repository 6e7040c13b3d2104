package scenario

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// FieldError is one problem in a scenario, located by file, line and field path.
type FieldError struct {
	// File is the scenario file, or "" for a scenario built in code.
	File string
	// Line is the 1-based line of the problem, or 0 when unknown.
	Line int
	// Path is the field path, e.g. "spec.steps[2].fault.nodeLoss.target.count",
	// or "" for a problem with the file as a whole.
	Path string
	// Message says what is wrong.
	Message string
}

// Error formats the problem as "file:line: path: message", leaving out what is unknown.
func (e FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every problem found in one or more scenario files, one per line when printed.
// The loaders return it sorted by file (in the order given) and line.
type Errors []FieldError

// Error prints one problem per line.
func (errs Errors) Error() string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems as errors, for errors.As.
func (errs Errors) Unwrap() []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// sortByLine orders problems by line, keeping the order they were found in within a line.
func (errs Errors) sortByLine() {
	slices.SortStableFunc(errs, func(a, b FieldError) int { return cmp.Compare(a.Line, b.Line) })
}

// orNil returns nil for no problems, so that a nil error means success.
func (errs Errors) orNil() error {
	if len(errs) == 0 {
		return nil
	}
	return errs
}

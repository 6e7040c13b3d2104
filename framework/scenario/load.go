package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// MaxFileSize is the largest scenario file the loaders accept, in bytes (1 MiB).
const MaxFileSize = 1 << 20

// maxReportedErrors bounds the problems reported for one file.
const maxReportedErrors = 100

// LoadFile reads, decodes, defaults and validates the scenario file at path.
// On failure the error is an Errors value listing every problem found.
func LoadFile(path string) (*Scenario, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, Errors{{File: path, Message: err.Error()}}
	}
	return Load(path, data)
}

// LoadFiles loads several scenario files and reports the problems of all of them at once,
// including scenario names used by more than one file. It returns the scenarios in the
// order given, or an Errors value and no scenarios.
func LoadFiles(paths ...string) ([]*Scenario, error) {
	var (
		all      Errors
		loaded   []*Scenario
		nameUsed = map[string]*Scenario{}
	)
	for _, path := range paths {
		s, err := LoadFile(path)
		if err != nil {
			if errs, ok := err.(Errors); ok {
				all = append(all, errs...)
			} else {
				all = append(all, FieldError{File: path, Message: err.Error()})
			}
			continue
		}
		if first, dup := nameUsed[s.Metadata.Name]; dup {
			all = append(all, FieldError{
				File: path, Line: s.lineOf("metadata.name"), Path: "metadata.name",
				Message: fmt.Sprintf("scenario name %s is also used by %s:%d", quote(s.Metadata.Name), first.File, first.lineOf("metadata.name")),
			})
		} else {
			nameUsed[s.Metadata.Name] = s
		}
		loaded = append(loaded, s)
	}
	if len(all) > 0 {
		return nil, all
	}
	return loaded, nil
}

// Load decodes, defaults and validates a scenario from data; name (usually the file path)
// is used in error messages and to resolve relative paths. On failure the error is an
// Errors value listing every problem found, sorted by line.
func Load(name string, data []byte) (*Scenario, error) {
	s, errs := load(data)
	for i := range errs {
		errs[i].File = name
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.File = name
	return s, nil
}

func load(data []byte) (*Scenario, Errors) {
	if len(data) > MaxFileSize {
		return nil, Errors{{Message: fmt.Sprintf("file is larger than %d bytes (1 MiB), the limit for scenario files", MaxFileSize)}}
	}
	root, errs := parseDocument(data)
	if errs != nil {
		return nil, errs
	}
	if errs := checkTypeMeta(root); errs != nil {
		return nil, finish(errs)
	}

	d := newDecoder()
	d.lines[""] = root.Line
	s := &Scenario{}
	d.decode(root, "", reflect.ValueOf(s).Elem())
	s.lines = d.lines
	if d.budget <= 0 {
		// Decoding stopped early; validating half a scenario would only add noise.
		return nil, finish(d.errs)
	}

	s.Default()
	errs = d.errs
	for _, e := range s.validate() {
		if !followsFrom(e, d.errs) {
			errs = append(errs, e)
		}
	}
	return s, finish(errs)
}

// finish sorts the problems by line and cuts an overly long list short.
func finish(errs Errors) Errors {
	errs.sortByLine()
	if len(errs) > maxReportedErrors {
		more := len(errs) - maxReportedErrors
		errs = append(errs[:maxReportedErrors:maxReportedErrors], FieldError{
			Message: fmt.Sprintf("too many problems: %d more not shown", more),
		})
	}
	return errs
}

// followsFrom reports whether a validation problem is at or below a field that already
// failed to decode, so that one mistake is reported once.
func followsFrom(e FieldError, decodeErrs Errors) bool {
	for _, de := range decodeErrs {
		if de.Path == "" {
			continue
		}
		if e.Path == de.Path || strings.HasPrefix(e.Path, de.Path+".") || strings.HasPrefix(e.Path, de.Path+"[") {
			return true
		}
	}
	return false
}

// readFile reads at most MaxFileSize+1 bytes, enough for Load to tell the file is too big.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %w", pathErrorCause(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read file: %w", pathErrorCause(err))
	}
	return data, nil
}

// pathErrorCause drops the path from an *fs.PathError; FieldError already names the file.
func pathErrorCause(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// parseDocument parses data as YAML and returns the root node of its single document.
func parseDocument(data []byte) (*yaml.Node, Errors) {
	docs, err := parseDocuments(data)
	if err != nil {
		return nil, Errors{{Line: syntaxErrorLine(data, err), Message: "invalid YAML: " + yamlErrorMessage(err)}}
	}
	switch {
	case len(docs) == 0:
		return nil, Errors{{Message: fmt.Sprintf("file is empty; want a scenario (apiVersion: %s, kind: %s)", APIVersion, Kind)}}
	case len(docs) > 1:
		return nil, Errors{{Line: docs[1].Line, Message: "a second YAML document starts here; a scenario file holds exactly one"}}
	}
	return docs[0], nil
}

// parseDocuments returns the root nodes of the non-empty documents in data, stopping at two.
func parseDocuments(data []byte) (docs []*yaml.Node, err error) {
	defer func() {
		// The parser is third-party code fed untrusted input; a panic there is a parse error.
		if r := recover(); r != nil {
			docs, err = nil, fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for len(docs) < 2 {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 || isNull(doc.Content[0]) {
			continue // an empty document, such as a trailing "---"
		}
		docs = append(docs, doc.Content[0])
	}
	return docs, nil
}

var yamlErrorPrefix = regexp.MustCompile(`^yaml: (?:line (\d+): )?`)

// yamlErrorMessage strips the "yaml: line N:" prefix from a parser error.
func yamlErrorMessage(err error) string {
	return yamlErrorPrefix.ReplaceAllString(err.Error(), "")
}

// yamlErrorLine returns the line a parser error names, or 0. It is only a hint: it is
// sometimes 0-based, sometimes the start of the enclosing block, and missing on line 1.
func yamlErrorLine(err error) int {
	m := yamlErrorPrefix.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	line, _ := strconv.Atoi(m[1])
	return line
}

// syntaxErrorLine finds the line of a YAML syntax error: the first line such that the
// text up to and including it fails to parse with the same message. The parser's own
// line numbers are sometimes 0-based, sometimes point at the start of the enclosing
// block, and are left out on the first line, so they only serve as a first guess.
func syntaxErrorLine(data []byte, err error) int {
	msg := yamlErrorMessage(err)
	var ends []int // ends[i] is the offset just past line i+1
	for i, c := range data {
		if c == '\n' {
			ends = append(ends, i+1)
		}
	}
	if len(ends) == 0 || ends[len(ends)-1] != len(data) {
		ends = append(ends, len(data))
	}
	failsBy := func(lines int) bool {
		if lines < 1 {
			return false
		}
		_, err := parseDocuments(data[:ends[min(lines, len(ends))-1]])
		return err != nil && yamlErrorMessage(err) == msg
	}
	// The parser's line is usually right or one short: try those before bisecting.
	if hint := yamlErrorLine(err); hint > 0 {
		for _, line := range []int{hint, hint + 1} {
			if line <= len(ends) && failsBy(line) && !failsBy(line-1) {
				return line
			}
		}
	}
	lo, hi := 1, len(ends)
	if !failsBy(hi) {
		return 0
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if failsBy(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// checkTypeMeta checks apiVersion and kind before anything else is decoded: the rest of
// the document means nothing without them.
func checkTypeMeta(root *yaml.Node) Errors {
	if root.Kind != yaml.MappingNode {
		return Errors{{Line: root.Line, Message: fmt.Sprintf("the document must be a mapping with apiVersion, kind, metadata and spec, got %s", describe(root))}}
	}
	// Only explicit keys count: apiVersion and kind are not taken from merge keys (<<).
	d := newDecoder()
	var apiVersion, kind *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, value := root.Content[i], root.Content[i+1]
		if key.Kind != yaml.ScalarNode {
			continue
		}
		switch key.Value {
		case "apiVersion":
			apiVersion = d.resolve(value, "apiVersion")
		case "kind":
			kind = d.resolve(value, "kind")
		}
	}
	var errs Errors
	switch {
	case apiVersion == nil:
		errs = append(errs, FieldError{Line: root.Line, Path: "apiVersion", Message: fmt.Sprintf("required; want %s", APIVersion)})
	case apiVersion.Kind != yaml.ScalarNode || apiVersion.Value != APIVersion:
		errs = append(errs, FieldError{Line: apiVersion.Line, Path: "apiVersion", Message: fmt.Sprintf("unsupported apiVersion %s; supported: %s", describe(apiVersion), APIVersion)})
	}
	switch {
	case kind == nil:
		errs = append(errs, FieldError{Line: root.Line, Path: "kind", Message: fmt.Sprintf("required; want %s", Kind)})
	case kind.Kind != yaml.ScalarNode || kind.Value != Kind:
		errs = append(errs, FieldError{Line: kind.Line, Path: "kind", Message: fmt.Sprintf("unsupported kind %s; want %s", describe(kind), Kind)})
	}
	return errs
}

// lineOf returns the line a field path was read from, or that of its nearest parent
// that was (a missing field is reported where its parent is); 0 when built in code.
func (s *Scenario) lineOf(path string) int {
	for {
		if line, ok := s.lines[path]; ok {
			return line
		}
		if path == "" {
			return 0
		}
		path = parentPath(path)
	}
}

// parentPath returns the path of the field or list holding path's last element.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

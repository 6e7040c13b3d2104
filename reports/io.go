package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"

	_ "embed"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed schema/report-v1.json
var schemaJSON []byte

// Schema returns the JSON Schema of a report document (schema/report-v1.json).
func Schema() []byte { return slices.Clone(schemaJSON) }

const schemaURL = "https://gameday.dev/schema/report-v1.json"

var compiledSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("parse report schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, fmt.Errorf("add report schema: %w", err)
	}
	return c.Compile(schemaURL)
})

// Validate checks a report document against the report schema.
func Validate(document []byte) error {
	schema, err := compiledSchema()
	if err != nil {
		return err
	}
	value, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return fmt.Errorf("report is not JSON: %w", err)
	}
	return schema.Validate(value)
}

// numberList is an indented JSON array of numbers. Indentation puts newlines only
// between tokens, never inside strings, so a match is always an array of numbers.
var numberList = regexp.MustCompile(`\[\n\s*-?[0-9][0-9.eE+-]*(?:,\n\s*-?[0-9][0-9.eE+-]*)*\n\s*\]`)

var indentation = regexp.MustCompile(`\n\s*`)

// Marshal encodes a report as report.json does: redacted, indented, with the
// sample columns kept one per line.
func Marshal(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(redacted(r)); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	return numberList.ReplaceAllFunc(buf.Bytes(), func(list []byte) []byte {
		return indentation.ReplaceAll(list, nil)
	}), nil
}

// Load reads a report.json, checks it against the schema and decodes it.
func Load(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var head struct{ APIVersion, Kind string }
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("%s: not a report: %w", path, err)
	}
	if head.APIVersion != APIVersion || head.Kind != Kind {
		return nil, fmt.Errorf("%s: apiVersion %q kind %q is not a %s %s", path, head.APIVersion, head.Kind, APIVersion, Kind)
	}
	if err := Validate(data); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var r Report
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Write writes report.json, the source of truth, into dir (created if missing)
// and then renders the other formats (see Render). Free text is redacted first.
func Write(dir string, r *Report) error {
	data, err := Marshal(r)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, JSONFile), data); err != nil {
		return err
	}
	return Render(dir, r)
}

// Render writes report.md, report.html and junit.xml into dir. It is what
// `gameday report DIR` runs on a loaded report.json. Free text is redacted first.
func Render(dir string, r *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	renderers := []struct {
		file   string
		render func(*Report) ([]byte, error)
	}{
		{MarkdownFile, Markdown},
		{HTMLFile, HTML},
		{JUnitFile, JUnit},
	}
	var errs []error
	for _, renderer := range renderers {
		data, err := renderer.render(r)
		if err == nil {
			err = writeFile(filepath.Join(dir, renderer.file), data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("render %s: %w", renderer.file, err))
		}
	}
	return errors.Join(errs...)
}

// writeFile replaces path atomically, so a crash never leaves half a report.
func writeFile(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

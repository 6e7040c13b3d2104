package scenario

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	yaml "go.yaml.in/yaml/v3"
)

// maxDecodedNodes bounds the YAML nodes decoded from one document, counting every alias
// expansion, so that a small file cannot expand into a huge one ("billion laughs").
const maxDecodedNodes = 100_000

// decoder decodes a YAML node tree into the scenario types, strictly, collecting every
// problem with its line and field path instead of stopping at the first.
type decoder struct {
	errs Errors
	// lines maps each field path seen to the line it was read from.
	lines map[string]int
	// budget is how many more nodes may be decoded.
	budget int
	// expanding holds the alias targets and merge sources being decoded, to stop cycles.
	expanding map[*yaml.Node]bool
}

func newDecoder() *decoder {
	return &decoder{
		lines:     map[string]int{},
		budget:    maxDecodedNodes,
		expanding: map[*yaml.Node]bool{},
	}
}

// maxDecodeErrors bounds the problems collected while decoding; past it, decoding stops.
const maxDecodeErrors = 100

func (d *decoder) errorf(line int, path, format string, args ...any) {
	if len(d.errs) >= maxDecodeErrors {
		return
	}
	d.errs = append(d.errs, FieldError{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
	if len(d.errs) == maxDecodeErrors {
		d.budget = 0 // stop decoding; Load says the list was cut short
	}
}

var (
	durationType  = reflect.TypeFor[time.Duration]()
	faultSpecType = reflect.TypeFor[FaultSpec]()
)

// spend takes one node from the budget and reports whether decoding may go on.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	return d.spendN(1, n, path)
}

// spendN takes count nodes from the budget and reports whether decoding may go on; the
// first time the budget runs out it records why.
func (d *decoder) spendN(count int, n *yaml.Node, path string) bool {
	if d.budget <= 0 {
		return false
	}
	d.budget -= count
	if d.budget <= 0 {
		d.errorf(n.Line, path, "document too large: more than %d values after expanding aliases", maxDecodedNodes)
		d.budget = 0
		return false
	}
	return true
}

// resolve follows an alias to the node it refers to. It returns nil (having recorded why)
// when the alias cannot be followed.
func (d *decoder) resolve(n *yaml.Node, path string) *yaml.Node {
	for hops := 0; n != nil && n.Kind == yaml.AliasNode; hops++ {
		if n.Alias == nil || hops > 100 {
			d.errorf(n.Line, path, "alias *%s cannot be resolved", n.Value)
			return nil
		}
		n = n.Alias
	}
	return n
}

// decode decodes n into v, the value at the field path.
func (d *decoder) decode(n *yaml.Node, path string, v reflect.Value) {
	if !d.spend(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		target := d.resolve(n, path)
		if target == nil {
			return
		}
		if d.expanding[target] {
			d.errorf(n.Line, path, "alias *%s refers to a value that contains it", n.Value)
			return
		}
		d.expanding[target] = true
		defer delete(d.expanding, target)
		n = target
	}

	t := v.Type()
	if isNull(n) {
		// An explicit null leaves a field unset, but selects a section with all defaults.
		if t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return
	}

	switch {
	case t == durationType:
		d.decodeDuration(n, path, v)
	case t == faultSpecType:
		d.decodeFault(n, path, v)
	case t.Kind() == reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decode(n, path, v.Elem())
	case t.Kind() == reflect.Struct:
		d.decodeStruct(n, path, v)
	case t.Kind() == reflect.Slice:
		d.decodeSlice(n, path, v)
	case t.Kind() == reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			if tag := n.ShortTag(); tag == "!!binary" || !strings.HasPrefix(tag, "!!") {
				d.errorf(n.Line, path, "must be a plain string, not a %s value", tag)
				return
			}
			v.SetString(s)
		}
	case t.Kind() == reflect.Bool:
		if _, ok := d.scalar(n, path, "true or false"); ok {
			var b bool
			if n.ShortTag() != "!!bool" || n.Decode(&b) != nil {
				d.errorf(n.Line, path, "must be true or false, got %s", quote(n.Value))
				return
			}
			v.SetBool(b)
		}
	case t.Kind() == reflect.Int:
		if _, ok := d.scalar(n, path, "an integer"); ok {
			var i int
			if n.ShortTag() != "!!int" || n.Decode(&i) != nil {
				d.errorf(n.Line, path, "must be an integer, got %s", quote(n.Value))
				return
			}
			v.SetInt(int64(i))
		}
	case t.Kind() == reflect.Float64:
		if _, ok := d.scalar(n, path, "a number"); ok {
			var f float64
			if tag := n.ShortTag(); (tag != "!!float" && tag != "!!int") || n.Decode(&f) != nil {
				d.errorf(n.Line, path, "must be a number, got %s", quote(n.Value))
				return
			}
			v.SetFloat(f)
		}
	default:
		// Only reachable if a field of an unsupported type is added to the scenario types;
		// the tests decode every field, so this is a programming error caught there.
		d.errorf(n.Line, path, "internal error: cannot decode into %s", t)
	}
}

// scalar returns the text of a scalar node, or records that a scalar was wanted.
func (d *decoder) scalar(n *yaml.Node, path, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n.Line, path, "must be %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

func (d *decoder) decodeDuration(n *yaml.Node, path string, v reflect.Value) {
	const want = `a duration such as "250ms", "10s" or "5m"`
	s, ok := d.scalar(n, path, want)
	if !ok {
		return
	}
	if n.ShortTag() != "!!str" {
		d.errorf(n.Line, path, "must be %s, got %s (add a unit)", want, quote(s))
		return
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(n.Line, path, "must be %s, got %s", want, quote(s))
		return
	}
	if dur <= 0 {
		d.errorf(n.Line, path, "must be greater than 0, got %s", quote(s))
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) decodeStruct(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping, got %s", describe(n))
		return
	}
	fields := fieldsOf(v.Type())
	firstSeen := map[string]int{}
	for _, p := range d.pairs(n, path) {
		name, ok := d.key(p.key, path)
		if !ok {
			continue
		}
		childPath := joinPath(path, name)
		if line, dup := firstSeen[name]; dup {
			d.errorf(p.key.Line, childPath, "duplicate field (first set on line %d)", line)
			continue
		}
		firstSeen[name] = p.key.Line
		index, known := fields.index[name]
		if !known {
			d.errorf(p.key.Line, childPath, "unknown field; known fields here: %s", strings.Join(fields.names, ", "))
			continue
		}
		d.lines[childPath] = p.key.Line
		d.decode(p.value, childPath, v.Field(index))
	}
}

// key returns a mapping key's text, or records why it cannot be a field name.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	if k.Kind != yaml.ScalarNode || isNull(k) {
		d.errorf(k.Line, path, "field names must be plain strings, got %s", describe(k))
		return "", false
	}
	return k.Value, true
}

func (d *decoder) decodeSlice(n *yaml.Node, path string, v reflect.Value) {
	if n.Kind != yaml.SequenceNode {
		d.errorf(n.Line, path, "must be a list, got %s", describe(n))
		return
	}
	if !d.spendN(len(n.Content), n, path) {
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, el := range n.Content {
		elPath := fmt.Sprintf("%s[%d]", path, i)
		d.lines[elPath] = el.Line
		d.decode(el, elPath, s.Index(i))
	}
	v.Set(s)
}

// decodeFault decodes the one-of "fault" mapping: exactly one key, a registered fault kind.
func (d *decoder) decodeFault(n *yaml.Node, path string, v reflect.Value) {
	// Whatever goes wrong, the step stays a fault step, so no follow-on errors appear.
	v.Set(reflect.ValueOf(FaultSpec(undecodedFault{})))
	if n.Kind != yaml.MappingNode {
		d.errorf(n.Line, path, "must be a mapping with one fault kind (%s), got %s", knownFaultKindsText(), describe(n))
		return
	}
	pairs := d.pairs(n, path)
	if len(pairs) == 0 {
		d.errorf(n.Line, path, "must set one fault kind: %s", knownFaultKindsText())
		return
	}
	var chosen []string
	for _, p := range pairs {
		kind, ok := d.key(p.key, path)
		if !ok {
			continue
		}
		fault, known := newFault(kind)
		if !known {
			d.errorf(p.key.Line, path, "unknown fault kind %s; known kinds: %s", quote(kind), knownFaultKindsText())
			continue
		}
		if slices.Contains(chosen, kind) {
			d.errorf(p.key.Line, joinPath(path, kind), "duplicate field")
			continue
		}
		chosen = append(chosen, kind)
		if len(chosen) > 1 {
			d.errorf(p.key.Line, path, "sets more than one fault kind (%s); a step injects exactly one", strings.Join(chosen, ", "))
			continue
		}
		kindPath := joinPath(path, kind)
		d.lines[kindPath] = p.key.Line
		fv := reflect.ValueOf(fault)
		d.decode(p.value, kindPath, fv)
		v.Set(fv)
	}
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs returns a mapping's keys and values with merge keys (<<) expanded: explicit keys
// come first and win over merged ones, and earlier merge sources win over later ones.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	// Charged here as well as when each value is decoded: merge keys can revisit a
	// mapping many times without decoding its values.
	if !d.spendN(len(n.Content)/2, n, path) {
		return nil
	}
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(val, path)...)
			continue
		}
		explicit = append(explicit, pair{k, val})
	}
	if len(merged) == 0 {
		return explicit
	}
	have := map[string]bool{}
	for _, p := range explicit {
		have[p.key.Value] = true
	}
	out := explicit
	for _, p := range merged {
		if p.key.Kind == yaml.ScalarNode && have[p.key.Value] {
			continue
		}
		have[p.key.Value] = true
		out = append(out, p)
	}
	return out
}

// mergeSources returns the pairs a merge key's value brings in: a mapping, or a list of them.
func (d *decoder) mergeSources(n *yaml.Node, path string) []pair {
	if !d.spend(n, path) {
		return nil
	}
	const want = "the value of a merge key (<<) must be a mapping or a list of mappings"
	origin := n
	if n = d.resolve(n, path); n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		if d.expanding[n] {
			d.errorf(origin.Line, path, "merge key (<<) refers to a mapping that contains it")
			return nil
		}
		d.expanding[n] = true
		defer delete(d.expanding, n)
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var out []pair
		for _, el := range n.Content {
			if el = d.resolve(el, path); el == nil {
				continue
			}
			if el.Kind != yaml.MappingNode {
				d.errorf(el.Line, path, "%s, got %s", want, describe(el))
				continue
			}
			out = append(out, d.mergeSources(el, path)...)
		}
		return out
	default:
		d.errorf(origin.Line, path, "%s, got %s", want, describe(n))
		return nil
	}
}

// structFields maps the yaml names of a struct's fields to their indexes.
type structFields struct {
	index map[string]int
	names []string // in declaration order, for error messages
}

var fieldCache sync.Map // reflect.Type -> structFields

func fieldsOf(t reflect.Type) structFields {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.(structFields)
	}
	fields := structFields{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields.index[name] = i
		fields.names = append(fields.names, name)
	}
	fieldCache.Store(t, fields)
	return fields
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names what a node is, for "must be X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return quote(n.Value)
	default:
		return "an unknown node"
	}
}

// quote quotes a value for a message, shortening long ones.
func quote(s string) string {
	const limit = 60
	if len(s) > limit {
		s = s[:limit] + "..."
	}
	return strconv.Quote(s)
}

func joinPath(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

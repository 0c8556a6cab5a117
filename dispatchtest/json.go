package dispatchtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// value is a JSON value that keeps the order of an object's members and
// the literal of every scalar, so that an event edited in one place is the
// same, byte for byte once formatted, everywhere else.
type value struct {
	kind  byte     // '{' an object, '[' an array, 0 a scalar
	keys  []string // an object's member names, in order
	elems []*value // an object's member values, or an array's elements
	raw   []byte   // a scalar's literal
}

// parseValue parses one JSON value.
func parseValue(b []byte) (*value, error) {
	p := &parser{in: b, dec: json.NewDecoder(bytes.NewReader(b))}
	p.dec.UseNumber()
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	if _, err := p.dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: data after the value")
	}
	return v, nil
}

// parser reads a value's tokens, keeping each scalar's literal as it is
// in the input (a string's escapes, a number's digits).
type parser struct {
	in  []byte
	dec *json.Decoder
}

func (p *parser) value() (*value, error) {
	start := p.dec.InputOffset()
	tok, err := p.dec.Token()
	if err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		raw := bytes.TrimLeft(p.in[start:p.dec.InputOffset()], " \t\r\n,:")
		return &value{raw: raw}, nil
	}
	v := &value{kind: byte(d)}
	for p.dec.More() {
		if v.kind == '{' {
			k, err := p.dec.Token()
			if err != nil {
				return nil, fmt.Errorf("invalid JSON: %w", err)
			}
			v.keys = append(v.keys, k.(string))
		}
		e, err := p.value()
		if err != nil {
			return nil, err
		}
		v.elems = append(v.elems, e)
	}
	if _, err := p.dec.Token(); err != nil { // the closing delimiter
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return v, nil
}

// stringValue returns s as a JSON string.
func stringValue(s string) *value {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(s) // a string always encodes
	return &value{raw: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
}

// valueOf returns x as a value: a json.RawMessage as it is, anything else
// as encoding/json encodes it.
func valueOf(x any) (*value, error) {
	raw, ok := x.(json.RawMessage)
	if !ok {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(x); err != nil {
			return nil, err
		}
		raw = buf.Bytes()
	}
	return parseValue(raw)
}

// encode returns v as compact JSON.
func (v *value) encode() []byte {
	var buf bytes.Buffer
	v.write(&buf)
	return buf.Bytes()
}

func (v *value) write(buf *bytes.Buffer) {
	if v.kind == 0 {
		buf.Write(v.raw)
		return
	}
	buf.WriteByte(v.kind)
	for i, e := range v.elems {
		if i > 0 {
			buf.WriteByte(',')
		}
		if v.kind == '{' {
			buf.Write(stringValue(v.keys[i]).raw)
			buf.WriteByte(':')
		}
		e.write(buf)
	}
	if v.kind == '{' {
		buf.WriteByte('}')
	} else {
		buf.WriteByte(']')
	}
}

// isNull reports whether v is absent or null.
func (v *value) isNull() bool { return v == nil || v.kind == 0 && string(v.raw) == "null" }

// describe names v's JSON type, for messages.
func (v *value) describe() string {
	switch {
	case v.kind == '{':
		return "an object"
	case v.kind == '[':
		return "an array"
	case v.isNull():
		return "null"
	case v.raw[0] == '"':
		return "a string"
	case v.raw[0] == 't' || v.raw[0] == 'f':
		return "a boolean"
	}
	return "a number"
}

// str returns v's string value, or "" if v is no string.
func (v *value) str() string {
	var s string
	if v != nil && v.kind == 0 && json.Unmarshal(v.raw, &s) == nil {
		return s
	}
	return ""
}

// member returns the value of an object's member, or nil.
func (v *value) member(key string) *value {
	if v == nil || v.kind != '{' {
		return nil
	}
	for i, k := range v.keys {
		if k == key {
			return v.elems[i]
		}
	}
	return nil
}

// setMember sets an object's member, in its place if it exists, else last.
func (v *value) setMember(key string, x *value) {
	for i, k := range v.keys {
		if k == key {
			v.elems[i] = x
			return
		}
	}
	v.keys = append(v.keys, key)
	v.elems = append(v.elems, x)
}

// deleteMember removes an object's member, if it has it.
func (v *value) deleteMember(key string) {
	for i, k := range v.keys {
		if k == key {
			v.keys = append(v.keys[:i:i], v.keys[i+1:]...)
			v.elems = append(v.elems[:i:i], v.elems[i+1:]...)
			return
		}
	}
}

// equal reports whether a and b are the same JSON, member order aside.
func equal(a, b *value) bool {
	if a.kind != b.kind {
		return false
	}
	switch a.kind {
	case 0:
		return bytes.Equal(a.raw, b.raw)
	case '[':
		if len(a.elems) != len(b.elems) {
			return false
		}
		for i := range a.elems {
			if !equal(a.elems[i], b.elems[i]) {
				return false
			}
		}
		return true
	}
	if len(a.keys) != len(b.keys) {
		return false
	}
	for i, k := range a.keys {
		if bv := b.member(k); bv == nil || !equal(a.elems[i], bv) {
			return false
		}
	}
	return true
}

// A path names a value inside an event: member names separated by dots,
// with array indexes as [n] or as a plain number between dots:
// "data.object.amount", "data.object.refunds.data[0].amount",
// "data.object.refunds.data.0.amount". A number names an array's element
// in an array, and a member in an object (metadata may have a key "0").
type pathStep struct {
	name  string
	index int  // for an index in brackets, or a number
	brack bool // written in brackets: an array's index only
	num   bool // name is a number
}

func parsePath(path string) ([]pathStep, error) {
	if path == "" {
		return nil, errors.New("empty path")
	}
	var steps []pathStep
	for seg := range strings.SplitSeq(path, ".") {
		name, rest, _ := strings.Cut(seg, "[")
		if name == "" {
			return nil, fmt.Errorf("path %q has an empty member name", path)
		}
		st := pathStep{name: name}
		if n, err := strconv.Atoi(name); err == nil && n >= 0 {
			st.index, st.num = n, true
		}
		steps = append(steps, st)
		for rest != "" {
			idx, after, ok := strings.Cut(rest, "]")
			n, err := strconv.Atoi(idx)
			if !ok || err != nil || n < 0 || (after != "" && after[0] != '[') {
				return nil, fmt.Errorf("path %q: bad index in %q: want [n], n from 0", path, seg)
			}
			steps = append(steps, pathStep{index: n, brack: true})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps, nil
}

// String writes the step as it would appear after the path before it.
func (s pathStep) String() string {
	if s.brack {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	return "." + s.name
}

// where names the value reached by steps, for messages.
func where(steps []pathStep) string {
	var b strings.Builder
	for _, s := range steps {
		b.WriteString(s.String())
	}
	return strings.TrimPrefix(b.String(), ".")
}

// lookup returns the value at path in root, or nil if there is none.
func lookup(root *value, steps []pathStep) *value {
	cur := root
	for _, s := range steps {
		switch {
		case cur == nil:
			return nil
		case cur.kind == '{' && !s.brack:
			cur = cur.member(s.name)
		case cur.kind == '[' && (s.brack || s.num) && s.index < len(cur.elems):
			cur = cur.elems[s.index]
		default:
			return nil
		}
	}
	return cur
}

// setPath sets the value at path in root to x. Members missing on the way,
// or null, become objects; an array's index must exist, or be its length
// (to append).
func setPath(root *value, steps []pathStep, x *value) error {
	cur := root
	for i, s := range steps {
		last := i == len(steps)-1
		switch {
		case cur.kind == '{' && !s.brack:
			if last {
				cur.setMember(s.name, x)
				return nil
			}
			next := cur.member(s.name)
			if next.isNull() {
				if steps[i+1].brack {
					return fmt.Errorf("%s is %s, not an array", where(steps[:i+1]), next.describe())
				}
				next = &value{kind: '{'}
				cur.setMember(s.name, next)
			}
			cur = next
		case cur.kind == '[' && (s.brack || s.num):
			switch {
			case s.index < len(cur.elems) && last:
				cur.elems[s.index] = x
				return nil
			case s.index == len(cur.elems) && last:
				cur.elems = append(cur.elems, x)
				return nil
			case s.index >= len(cur.elems):
				return fmt.Errorf("%s has %d elements: no index %d", where(steps[:i]), len(cur.elems), s.index)
			}
			cur = cur.elems[s.index]
		case cur.kind == '[':
			return fmt.Errorf("%s is an array: want an index, not %q", where(steps[:i]), s.name)
		default:
			what := "an object"
			if s.brack {
				what = "an array"
			}
			return fmt.Errorf("%s is %s, not %s", where(steps[:i]), cur.describe(), what)
		}
	}
	return nil
}

// patch makes in orig the changes that turned before into after: orig is
// an object as Stripe sent it, before and after the same object decoded
// into a stripe-go type and encoded again, without and with a change. Only
// what changed is written, so every member of orig the change did not
// touch stays as it was, and members stripe-go adds (its zero values) or
// does not know are left alone. A reference that was an id ("customer":
// "cus_1"), decoded into an object holding only its id, stays an id.
func patch(orig, before, after *value) {
	switch {
	case orig == nil || before == nil || after == nil:
		return
	case orig.kind == '{' && before.kind == '{' && after.kind == '{':
		for i, k := range after.keys {
			a, b := after.elems[i], before.member(k)
			if b != nil && equal(a, b) {
				continue
			}
			o := orig.member(k)
			if o != nil && b != nil && o.kind != 0 && o.kind == a.kind && o.kind == b.kind &&
				(o.kind == '{' || len(o.elems) == len(b.elems)) {
				patch(o, b, a)
				continue
			}
			orig.setMember(k, compact(a))
		}
		for _, k := range before.keys {
			if after.member(k) == nil {
				orig.deleteMember(k) // an omitempty member the change emptied
			}
		}
	case orig.kind == '[' && before.kind == '[' && after.kind == '[' && len(orig.elems) == len(before.elems):
		// The elements both have, changed in place; then those appended,
		// or those removed from the end.
		for i := range min(len(before.elems), len(after.elems)) {
			if equal(before.elems[i], after.elems[i]) {
				continue
			}
			if o := orig.elems[i]; o.kind != 0 && o.kind == after.elems[i].kind && o.kind == before.elems[i].kind {
				patch(o, before.elems[i], after.elems[i])
				continue
			}
			orig.elems[i] = compact(after.elems[i])
		}
		for _, a := range after.elems[min(len(before.elems), len(after.elems)):] {
			orig.elems = append(orig.elems, compact(a))
		}
		orig.elems = orig.elems[:len(after.elems)]
	}
}

// compact returns a value stripe-go encoded, without the zero values of
// the members it always writes: an object holding only an id becomes that
// id, as Stripe sends an unexpanded reference.
func compact(v *value) *value {
	switch v.kind {
	case '[':
		out := &value{kind: '['}
		for _, e := range v.elems {
			out.elems = append(out.elems, compact(e))
		}
		return out
	case '{':
		out := &value{kind: '{'}
		for i, k := range v.keys {
			if e := compact(v.elems[i]); !isZero(e) {
				out.setMember(k, e)
			}
		}
		if len(out.keys) == 1 && out.keys[0] == "id" && out.elems[0].kind == 0 {
			return out.elems[0]
		}
		return out
	}
	return v
}

// isZero reports whether v is a zero value as encoding/json writes one.
func isZero(v *value) bool {
	if v.kind != 0 {
		return len(v.elems) == 0 && v.kind == '{'
	}
	switch string(v.raw) {
	case "null", `""`, "0", "false":
		return true
	}
	return false
}

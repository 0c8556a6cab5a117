package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// nodeKind says which JSON value a node holds.
type nodeKind int

const (
	kindLiteral nodeKind = iota // string, number, true, false or null, kept verbatim
	kindObject
	kindArray
)

// node is one JSON value in an order-preserving tree. Literals keep their
// exact source bytes, so a string (such as a webhook body) is written back
// byte for byte, escapes included.
type node struct {
	kind    nodeKind
	raw     []byte    // kindLiteral: the literal as it appeared in the source
	members []*member // kindObject: members in source order
	elems   []*node   // kindArray: elements in source order
}

// member is one key/value pair of a JSON object.
type member struct {
	rawKey []byte // the key literal, quotes and escapes included
	key    string // the decoded key
	value  *node
}

// errSyntax reports JSON that parseTree cannot read.
var errSyntax = errors.New("invalid JSON")

// parseTree parses a single JSON document into an ordered tree.
func parseTree(data []byte) (*node, error) {
	if !json.Valid(data) {
		// Let encoding/json describe the problem (offset and cause).
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("%w: %w", errSyntax, err)
		}
		return nil, errSyntax
	}
	p := &parser{data: data}
	n, err := p.value()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(p.data) {
		return nil, fmt.Errorf("%w: trailing data at offset %d", errSyntax, p.pos)
	}
	return n, nil
}

// parser walks input that json.Valid has already accepted, so it only needs
// to find value boundaries, not to diagnose errors.
type parser struct {
	data []byte
	pos  int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s at offset %d", errSyntax, fmt.Sprintf(format, args...), p.pos)
}

func (p *parser) expect(c byte) error {
	p.skipSpace()
	if p.pos >= len(p.data) || p.data[p.pos] != c {
		return p.errorf("expected %q", c)
	}
	p.pos++
	return nil
}

func (p *parser) value() (*node, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.errorf("unexpected end of input")
	}
	switch p.data[p.pos] {
	case '{':
		return p.object()
	case '[':
		return p.array()
	case '"':
		raw, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		return &node{kind: kindLiteral, raw: raw}, nil
	default:
		start := p.pos
		for p.pos < len(p.data) {
			c := p.data[p.pos]
			if c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				break
			}
			p.pos++
		}
		if p.pos == start {
			return nil, p.errorf("expected a value")
		}
		return &node{kind: kindLiteral, raw: p.data[start:p.pos]}, nil
	}
}

// stringLiteral returns the raw bytes of the string literal at p.pos,
// including its quotes.
func (p *parser) stringLiteral() ([]byte, error) {
	start := p.pos
	p.pos++ // opening quote
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\\':
			p.pos += 2
		case '"':
			p.pos++
			return p.data[start:p.pos], nil
		default:
			p.pos++
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *parser) object() (*node, error) {
	n := &node{kind: kindObject}
	p.pos++ // '{'
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.errorf("expected object key")
		}
		rawKey, err := p.stringLiteral()
		if err != nil {
			return nil, err
		}
		var key string
		if err := json.Unmarshal(rawKey, &key); err != nil {
			return nil, fmt.Errorf("%w: object key %s: %w", errSyntax, rawKey, err)
		}
		if err := p.expect(':'); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.members = append(n.members, &member{rawKey: rawKey, key: key, value: v})
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if err := p.expect('}'); err != nil {
			return nil, err
		}
		return n, nil
	}
}

func (p *parser) array() (*node, error) {
	n := &node{kind: kindArray}
	p.pos++ // '['
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		n.elems = append(n.elems, v)
		p.skipSpace()
		if p.pos < len(p.data) && p.data[p.pos] == ',' {
			p.pos++
			continue
		}
		if err := p.expect(']'); err != nil {
			return nil, err
		}
		return n, nil
	}
}

// get returns the value of the first member named key, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != kindObject {
		return nil
	}
	for _, m := range n.members {
		if m.key == key {
			return m.value
		}
	}
	return nil
}

// set replaces the value of every member named key, or appends a member
// when there is none.
func (n *node) set(key string, v *node) {
	found := false
	for _, m := range n.members {
		if m.key == key {
			m.value = v
			found = true
		}
	}
	if !found {
		n.members = append(n.members, &member{rawKey: mustMarshal(key), key: key, value: v})
	}
}

// isNull reports whether n is absent or the literal null.
func (n *node) isNull() bool {
	return n == nil || (n.kind == kindLiteral && string(n.raw) == "null")
}

// isString reports whether n is a string literal.
func (n *node) isString() bool {
	return n != nil && n.kind == kindLiteral && len(n.raw) > 0 && n.raw[0] == '"'
}

// stringValue decodes a string literal.
func (n *node) stringValue() (string, error) {
	if !n.isString() {
		return "", fmt.Errorf("not a string: %s", n.describe())
	}
	var s string
	if err := json.Unmarshal(n.raw, &s); err != nil {
		return "", fmt.Errorf("decode string: %w", err)
	}
	return s, nil
}

// describe names the kind of n for error messages.
func (n *node) describe() string {
	switch {
	case n == nil:
		return "missing"
	case n.kind == kindObject:
		return "an object"
	case n.kind == kindArray:
		return "an array"
	case n.isString():
		return "a string"
	default:
		return string(n.raw)
	}
}

// stringNode returns a string literal node for s, escaped without HTML
// escaping so the output reads naturally.
func stringNode(s string) *node {
	return &node{kind: kindLiteral, raw: mustMarshal(s)}
}

// intNode returns a number literal node for i.
func intNode(i int64) *node {
	return &node{kind: kindLiteral, raw: fmt.Appendf(nil, "%d", i)}
}

// arrayNode returns an array node holding elems.
func arrayNode(elems ...*node) *node {
	return &node{kind: kindArray, elems: elems}
}

// mustMarshal encodes a string as a JSON literal. Encoding a string cannot
// fail, so an error here is a programming error.
func mustMarshal(s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		panic(fmt.Sprintf("encode JSON string: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// encode writes the tree indented with two spaces, like json.MarshalIndent,
// followed by a newline. Literals are written exactly as they were read.
func (n *node) encode() []byte {
	var buf bytes.Buffer
	n.write(&buf, 0)
	buf.WriteByte('\n')
	return buf.Bytes()
}

func (n *node) write(buf *bytes.Buffer, depth int) {
	switch n.kind {
	case kindObject:
		if len(n.members) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteByte('{')
		for i, m := range n.members {
			if i > 0 {
				buf.WriteByte(',')
			}
			newline(buf, depth+1)
			buf.Write(m.rawKey)
			buf.WriteString(": ")
			m.value.write(buf, depth+1)
		}
		newline(buf, depth)
		buf.WriteByte('}')
	case kindArray:
		if len(n.elems) == 0 {
			buf.WriteString("[]")
			return
		}
		buf.WriteByte('[')
		for i, e := range n.elems {
			if i > 0 {
				buf.WriteByte(',')
			}
			newline(buf, depth+1)
			e.write(buf, depth+1)
		}
		newline(buf, depth)
		buf.WriteByte(']')
	default:
		buf.Write(n.raw)
	}
}

func newline(buf *bytes.Buffer, depth int) {
	buf.WriteByte('\n')
	for range depth {
		buf.WriteString("  ")
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"stripetask/internal/devtools"
)

// The files read, relative to the module's directory.
const (
	specFile     = devtools.StripeMockSpec
	fixturesFile = "embedded/openapi/fixtures3.json"
)

// spec is the part of the OpenAPI specification objectgen reads.
type spec struct {
	Components struct {
		Schemas map[string]struct {
			Properties struct {
				Object struct {
					Enum []string `json:"enum"`
				} `json:"object"`
			} `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
	Paths map[string]struct {
		Get *operation `json:"get"`
	} `json:"paths"`
}

type operation struct {
	Parameters []parameter `json:"parameters"`
	Responses  map[string]struct {
		Content map[string]struct {
			Schema schemaRef `json:"schema"`
		} `json:"content"`
	} `json:"responses"`
}

type parameter struct {
	In       string `json:"in"`
	Name     string `json:"name"`
	Required bool   `json:"required"`
}

type schemaRef struct {
	Ref   string      `json:"$ref"`
	AnyOf []schemaRef `json:"anyOf"`
}

// refs returns the schema names r refers to, directly or in an anyOf.
func (r schemaRef) refs() []string {
	var names []string
	if name, ok := strings.CutPrefix(r.Ref, "#/components/schemas/"); ok {
		names = append(names, name)
	}
	for _, a := range r.AnyOf {
		names = append(names, a.refs()...)
	}
	return names
}

// source is where the kit takes one kind of object from.
type source struct {
	kind    string
	get     string // a path on stripe-mock, ids filled in
	fixture string // the fixture, compact JSON
}

// generate returns the source of objects_gen.go from the module in dir.
func generate(dir string) ([]byte, error) {
	var sp spec
	if err := readJSON(filepath.Join(dir, specFile), &sp); err != nil {
		return nil, err
	}
	var fx struct {
		Resources map[string]json.RawMessage `json:"resources"`
	}
	if err := readJSON(filepath.Join(dir, fixturesFile), &fx); err != nil {
		return nil, err
	}
	sources, err := resolve(&sp, fx.Resources)
	if err != nil {
		return nil, err
	}
	return render(sources)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// resolve finds the source of every kind of object in sp.
func resolve(sp *spec, fixtures map[string]json.RawMessage) ([]source, error) {
	// The schemas of each kind, deleted_* stubs aside ("deleted_customer"
	// is a "customer" too).
	schemas := map[string][]string{}
	for name, s := range sp.Components.Schemas {
		if e := s.Properties.Object.Enum; len(e) == 1 && !strings.HasPrefix(name, "deleted_") {
			schemas[e[0]] = append(schemas[e[0]], name)
		}
	}
	// The GET paths answering each schema, without required query
	// parameters.
	gets := map[string][]string{}
	for path, item := range sp.Paths {
		g := item.Get
		if g == nil || slices.ContainsFunc(g.Parameters, func(p parameter) bool { return p.In == "query" && p.Required }) {
			continue
		}
		for _, name := range g.Responses["200"].Content["application/json"].Schema.refs() {
			gets[name] = append(gets[name], path)
		}
	}
	ids := fixtureIDs(fixtures)
	var sources []source
	for kind, names := range schemas {
		slices.Sort(names)
		var paths []string
		for _, n := range names {
			paths = append(paths, gets[n]...)
		}
		src := source{kind: kind}
		var fixture map[string]any
		if raw, ok := fixtures[names[0]]; ok {
			if err := json.Unmarshal(raw, &fixture); err != nil {
				return nil, fmt.Errorf("fixture %s: %w", names[0], err)
			}
		}
		switch {
		case len(paths) > 0:
			slices.SortFunc(paths, comparePaths)
			path, err := fill(paths[0], kind, fixture, ids)
			if err != nil {
				return nil, err
			}
			src.get = path
		case fixture != nil:
			var buf bytes.Buffer
			if err := json.Compact(&buf, fixtures[names[0]]); err != nil {
				return nil, fmt.Errorf("fixture %s: %w", names[0], err)
			}
			src.fixture = buf.String()
		default:
			continue // neither: a minimal object
		}
		sources = append(sources, src)
	}
	slices.SortFunc(sources, func(a, b source) int { return strings.Compare(a.kind, b.kind) })
	return sources, nil
}

// comparePaths orders the GET paths of one kind: those ending in a path
// parameter (the object's own id) first, then fewer parameters, then
// lexically.
func comparePaths(a, b string) int {
	ownA, ownB := strings.HasSuffix(a, "}"), strings.HasSuffix(b, "}")
	if ownA != ownB {
		if ownA {
			return -1
		}
		return 1
	}
	if na, nb := strings.Count(a, "{"), strings.Count(b, "{"); na != nb {
		return na - nb
	}
	return strings.Compare(a, b)
}

// fixtureIDs returns the id of each fixture that has one, by the fixture's
// name and by its kind.
func fixtureIDs(fixtures map[string]json.RawMessage) map[string]string {
	ids := map[string]string{}
	for name, raw := range fixtures {
		var f struct {
			ID     string `json:"id"`
			Object string `json:"object"`
		}
		if json.Unmarshal(raw, &f) == nil && f.ID != "" {
			ids[name] = f.ID
		}
	}
	return ids
}

// parentFixtures names the fixture of a path parameter that is not named
// after one.
var parentFixtures = map[string]string{
	"fee":               "application_fee",
	"financial_account": "treasury.financial_account",
}

// fill fills the parameters of path, a GET path of kind: its own id (the
// last segment) with the fixture's id (or "<kind>_1" if it has none); a
// parent's with the fixture's field
// of the parameter's name (a card's "customer"), else with the id of the
// parent's own fixture.
func fill(path, kind string, fixture map[string]any, ids map[string]string) (string, error) {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		param, ok := strings.CutPrefix(s, "{")
		if !ok {
			continue
		}
		param = strings.TrimSuffix(param, "}")
		var v string
		if i == len(segs)-1 {
			v, _ = fixture["id"].(string)
		} else if f, ok := fixture[param].(string); ok && f != "" {
			v = f
		} else if name, ok := parentFixtures[param]; ok {
			v = ids[name]
		} else {
			v = ids[param]
		}
		if v == "" && i == len(segs)-1 {
			v = strings.ReplaceAll(kind, ".", "_") + "_1" // a fixture without an id
		}
		if v == "" {
			return "", fmt.Errorf("%s: GET %s: no id for {%s} in the fixtures", kind, path, param)
		}
		segs[i] = v
	}
	return strings.Join(segs, "/"), nil
}

// render formats the generated file.
func render(sources []source) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by objectgen from stripe-mock %s (%s, %s); DO NOT EDIT.\n\n", devtools.StripeMockVersion, specFile, fixturesFile)
	b.WriteString("package dispatchtest\n\n")
	fmt.Fprintf(&b, "// stripeMockVersion is the stripe-mock release the table was generated from.\n")
	fmt.Fprintf(&b, "const stripeMockVersion = %q\n\n", devtools.StripeMockVersion)
	b.WriteString("// objectSources gives, for each kind of object in stripe-mock's OpenAPI\n")
	b.WriteString("// specification, where the kit takes one from: a GET of the path on\n")
	b.WriteString("// stripe-mock, or, where the specification has no GET for it, stripe-mock's\n")
	b.WriteString("// fixture. A kind not listed gets a minimal object.\n")
	b.WriteString("var objectSources = map[string]objectSource{\n")
	for _, s := range sources {
		if s.get != "" {
			fmt.Fprintf(&b, "\t%q: {get: %q},\n", s.kind, s.get)
			continue
		}
		lit := "`" + s.fixture + "`"
		if strings.Contains(s.fixture, "`") {
			lit = strconv.Quote(s.fixture)
		}
		fmt.Fprintf(&b, "\t%q: {fixture: %s},\n", s.kind, lit)
	}
	b.WriteString("}\n")
	return format.Source(b.Bytes())
}

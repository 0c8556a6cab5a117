// Package metrics turns the JSON log lines the functions already write into
// CloudWatch metrics, in the Embedded Metric Format (EMF): a line that
// carries an "_aws" object naming its metrics and dimensions, and their
// values as top-level fields, is read by CloudWatch Logs as metric data
// points. No API call, no agent, no extra permission: Lambda sends the line
// to CloudWatch Logs anyway.
//
// A Schema is built once per kind of line and says which dimensions and
// metrics its lines carry; Schema.Append adds one line's values:
//
//	var events = metrics.NewSchema([]string{"Function", "Outcome"}, metrics.Count("Events"))
//	log.LogAttrs(ctx, level, "delivery", events.Append(attrs, now, []string{"webhook", "handled"}, 1)...)
package metrics

import (
	"log/slog"
	"slices"
	"strconv"
	"time"
)

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "Stripetask"

// Units of CloudWatch metrics.
const (
	UnitCount        = "Count"
	UnitMilliseconds = "Milliseconds"
	UnitSeconds      = "Seconds"
	UnitNone         = "None"
)

// Def defines one metric: its name and unit.
type Def struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// Count defines a metric counting something.
func Count(name string) Def { return Def{Name: name, Unit: UnitCount} }

// Milliseconds defines a metric of a duration in milliseconds.
func Milliseconds(name string) Def { return Def{Name: name, Unit: UnitMilliseconds} }

// Seconds defines a metric of a duration in seconds.
func Seconds(name string) Def { return Def{Name: name, Unit: UnitSeconds} }

// Gauge defines a metric of a plain value (0 or 1, say).
func Gauge(name string) Def { return Def{Name: name, Unit: UnitNone} }

// Schema is the EMF description of one kind of line: one or more
// directives, each a dimension set and the metrics aggregated by it. It is
// immutable and safe for concurrent use.
type Schema struct {
	dims   []string // every dimension of every directive, first seen first
	defs   []Def    // every metric of every directive, in order
	dirs   []directive
	prefix []byte // `{"Timestamp":`
	suffix []byte // `,"CloudWatchMetrics":[...]}`
}

// directive is one CloudWatchMetrics directive of a Schema.
type directive struct {
	dims []string
	defs []Def
}

// NewSchema returns the schema of lines with the given dimensions, which
// together form one dimension set, and metrics.
func NewSchema(dims []string, defs ...Def) *Schema {
	return build([]directive{{dims: dims, defs: defs}})
}

// With returns a schema with s's directives and one more: the metrics defs
// aggregated by the dimension set dims. Its lines carry s's dimensions and
// then those of dims not yet among them, and s's metrics and then defs.
// (A metric needed by a coarser dimension set only, say a count of failures
// per function, is declared this way, so that the finer set of s does not
// multiply it into one custom metric per value.)
func (s *Schema) With(dims []string, defs ...Def) *Schema {
	return build(append(append([]directive(nil), s.dirs...), directive{dims: dims, defs: defs}))
}

// build renders the directives.
func build(dirs []directive) *Schema {
	// Written by hand rather than with encoding/json: schemas are built at
	// package initialisation, and encoding/json's first use costs a cold
	// start half a millisecond.
	s := &Schema{dirs: dirs}
	d := []byte{'['}
	for i, dir := range dirs {
		if i > 0 {
			d = append(d, ',')
		}
		d = append(d, `{"Namespace":`...)
		d = strconv.AppendQuote(d, Namespace)
		d = append(d, `,"Dimensions":[[`...)
		for j, name := range dir.dims {
			if j > 0 {
				d = append(d, ',')
			}
			d = strconv.AppendQuote(d, name)
			if !slices.Contains(s.dims, name) {
				s.dims = append(s.dims, name)
			}
		}
		d = append(d, `]],"Metrics":[`...)
		for j, def := range dir.defs {
			if j > 0 {
				d = append(d, ',')
			}
			d = append(d, `{"Name":`...)
			d = strconv.AppendQuote(d, def.Name)
			d = append(d, `,"Unit":`...)
			d = strconv.AppendQuote(d, def.Unit)
			d = append(d, '}')
			s.defs = append(s.defs, def)
		}
		d = append(d, "]}"...)
	}
	d = append(d, ']')
	s.prefix = []byte(`{"Timestamp":`)
	s.suffix = append(append([]byte(`,"CloudWatchMetrics":`), d...), '}')
	return s
}

// Metrics returns the metrics the schema defines, of every directive.
func (s *Schema) Metrics() []Def { return append([]Def(nil), s.defs...) }

// Append appends to attrs the attributes that make a JSON log line an EMF
// record of s at time now: "_aws", each dimension with its value from
// dims, and each metric with its value from values, in the schema's order
// (see With). Missing values are left out, which CloudWatch reads as no
// data point.
func (s *Schema) Append(attrs []slog.Attr, now time.Time, dims []string, values ...float64) []slog.Attr {
	attrs = append(attrs, slog.Any("_aws", &emf{s: s, ms: now.UnixMilli()}))
	for i, name := range s.dims {
		if i < len(dims) {
			attrs = append(attrs, slog.String(name, dims[i]))
		}
	}
	for i, d := range s.defs {
		if i < len(values) {
			attrs = append(attrs, slog.Float64(d.Name, values[i]))
		}
	}
	return attrs
}

// emfScratch is the room an emf has to render itself without allocating:
// enough for a few metrics and dimensions.
const emfScratch = 512

// emf is the "_aws" object of one line.
type emf struct {
	s       *Schema
	ms      int64
	scratch [emfScratch]byte
}

// MarshalJSON renders the "_aws" object: the time and the schema's
// precomputed directive.
func (e *emf) MarshalJSON() ([]byte, error) {
	b := e.scratch[:0]
	b = append(b, e.s.prefix...)
	b = strconv.AppendInt(b, e.ms, 10)
	return append(b, e.s.suffix...), nil
}

// Validate reports what makes line, a decoded JSON log line, not a valid EMF
// record by the specification's rules: an "_aws" object with a Timestamp
// in milliseconds and CloudWatchMetrics directives, each with a Namespace,
// dimension sets naming top-level string fields, and metrics naming
// top-level numbers with a known unit. It returns "" for a valid record.
func Validate(line map[string]any) string {
	aws, ok := line["_aws"].(map[string]any)
	if !ok {
		return "no _aws object"
	}
	if ts, ok := aws["Timestamp"].(float64); !ok || ts < 1e12 {
		return "no Timestamp in milliseconds"
	}
	dirs, ok := aws["CloudWatchMetrics"].([]any)
	if !ok || len(dirs) == 0 {
		return "no CloudWatchMetrics"
	}
	units := map[string]bool{UnitCount: true, UnitMilliseconds: true, UnitSeconds: true, UnitNone: true}
	for _, d := range dirs {
		dir, _ := d.(map[string]any)
		if ns, _ := dir["Namespace"].(string); ns == "" {
			return "a directive without Namespace"
		}
		sets, _ := dir["Dimensions"].([]any)
		for _, set := range sets {
			names, _ := set.([]any)
			if len(names) > 30 {
				return "more than 30 dimensions"
			}
			for _, n := range names {
				if _, ok := line[n.(string)].(string); !ok {
					return "dimension " + n.(string) + " is not a top-level string"
				}
			}
		}
		ms, _ := dir["Metrics"].([]any)
		if len(ms) == 0 || len(ms) > 100 {
			return "no metrics, or more than 100"
		}
		for _, m := range ms {
			def, _ := m.(map[string]any)
			name, _ := def["Name"].(string)
			if _, ok := line[name].(float64); !ok {
				return "metric " + name + " is not a top-level number"
			}
			if u, _ := def["Unit"].(string); !units[u] {
				return "metric " + name + " has unit " + u
			}
		}
	}
	return ""
}

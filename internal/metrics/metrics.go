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

// Schema is the EMF description of one kind of line: its dimension names,
// which together form one dimension set, and its metrics. It is immutable
// and safe for concurrent use.
type Schema struct {
	dims   []string
	defs   []Def
	prefix []byte // `{"Timestamp":`
	suffix []byte // `,"CloudWatchMetrics":[...]}`
}

// NewSchema returns the schema of lines with the given dimensions and
// metrics.
func NewSchema(dims []string, defs ...Def) *Schema {
	// Written by hand rather than with encoding/json: schemas are built at
	// package initialisation, and encoding/json's first use costs a cold
	// start half a millisecond.
	d := []byte(`[{"Namespace":`)
	d = strconv.AppendQuote(d, Namespace)
	d = append(d, `,"Dimensions":[[`...)
	for i, name := range dims {
		if i > 0 {
			d = append(d, ',')
		}
		d = strconv.AppendQuote(d, name)
	}
	d = append(d, `]],"Metrics":[`...)
	for i, def := range defs {
		if i > 0 {
			d = append(d, ',')
		}
		d = append(d, `{"Name":`...)
		d = strconv.AppendQuote(d, def.Name)
		d = append(d, `,"Unit":`...)
		d = strconv.AppendQuote(d, def.Unit)
		d = append(d, '}')
	}
	d = append(d, "]}]"...)
	return &Schema{
		dims:   dims,
		defs:   defs,
		prefix: []byte(`{"Timestamp":`),
		suffix: append(append([]byte(`,"CloudWatchMetrics":`), d...), '}'),
	}
}

// Metrics returns the metrics the schema defines.
func (s *Schema) Metrics() []Def { return append([]Def(nil), s.defs...) }

// Append appends to attrs the attributes that make a JSON log line an EMF
// record of s at time now: "_aws", each dimension with its value from
// dims, and each metric with its value from values, in the schema's order.
// Missing values are left out, which CloudWatch reads as no data point.
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
const emfScratch = 320

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

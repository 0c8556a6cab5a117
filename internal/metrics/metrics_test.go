package metrics

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"stripetask/internal/testlog"
)

func TestAppend(t *testing.T) {
	s := NewSchema([]string{"Function", "Outcome"}, Count("Events"), Milliseconds("HandlerDuration"))
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	now := time.UnixMilli(1_760_000_000_123)
	attrs := s.Append([]slog.Attr{slog.String("outcome", "handled")}, now, []string{"webhook", "handled"}, 1, 12.5)
	log.LogAttrs(context.Background(), slog.LevelInfo, "delivery", attrs...)
	// Without the duration: no data point for it.
	log.LogAttrs(context.Background(), slog.LevelInfo, "delivery", s.Append(nil, now, []string{"webhook", "ignored"}, 1)...)
	lines := buf.Lines(t)
	if msg := Validate(lines[0]); msg != "" {
		t.Fatalf("not EMF: %s: %v", msg, lines[0])
	}
	l := lines[0]
	if l["Function"] != "webhook" || l["Outcome"] != "handled" || l["Events"] != 1.0 || l["HandlerDuration"] != 12.5 {
		t.Fatalf("values: %v", l)
	}
	aws := l["_aws"].(map[string]any)
	if aws["Timestamp"] != 1_760_000_000_123.0 {
		t.Errorf("Timestamp %v", aws["Timestamp"])
	}
	var want any
	json.Unmarshal([]byte(`[{"Namespace":"Stripetask","Dimensions":[["Function","Outcome"]],"Metrics":[{"Name":"Events","Unit":"Count"},{"Name":"HandlerDuration","Unit":"Milliseconds"}]}]`), &want)
	if !reflect.DeepEqual(aws["CloudWatchMetrics"], want) {
		t.Errorf("CloudWatchMetrics %v\nwant %v", aws["CloudWatchMetrics"], want)
	}
	if _, ok := lines[1]["HandlerDuration"]; ok {
		t.Errorf("a missing value was logged: %v", lines[1])
	}
	if msg := Validate(lines[1]); msg == "" {
		t.Errorf("a line missing a declared metric passed the check")
	}
}

func TestNoDimensions(t *testing.T) {
	s := NewSchema(nil, Gauge("EndpointDisabled"))
	buf := &testlog.Buffer{}
	slog.New(slog.NewJSONHandler(buf, nil)).LogAttrs(context.Background(), slog.LevelInfo, "x", s.Append(nil, time.Now(), nil, 1)...)
	if msg := Validate(buf.Lines(t)[0]); msg != "" {
		t.Fatalf("%s: %s", msg, buf)
	}
}

package dispatch

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestWithAttrs(t *testing.T) {
	var buf bytes.Buffer
	base := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := withAttrs(base, slog.String("request_id", "r1"), slog.String("event_id", "evt_1"))
	l2 := withAttrs(l, slog.String("event_type", "charge.succeeded"))

	tests := []struct {
		name string
		log  func()
		want map[string]any
	}{
		{"attrs added", func() { l.Info("hi", "k", "v") },
			map[string]any{"msg": "hi", "k": "v", "request_id": "r1", "event_id": "evt_1"}},
		{"nested", func() { l2.Warn("nested") },
			map[string]any{"msg": "nested", "request_id": "r1", "event_id": "evt_1", "event_type": "charge.succeeded"}},
		{"With after", func() { l.With("x", 1).Info("with") },
			map[string]any{"x": float64(1), "request_id": "r1"}},
		{"group after", func() { l.WithGroup("g").Info("grouped", "inner", true) },
			map[string]any{"request_id": "r1", "g": map[string]any{"inner": true}}},
	}
	for _, tt := range tests {
		buf.Reset()
		tt.log()
		var got map[string]any
		if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v: %s", tt.name, err, buf.String())
		}
		for k, v := range tt.want {
			if gv, _ := json.Marshal(got[k]); string(gv) != mustJSON(v) {
				t.Errorf("%s: %s = %s, want %s (line %s)", tt.name, k, gv, mustJSON(v), buf.String())
			}
		}
	}

	buf.Reset()
	l.Debug("hidden")
	if buf.Len() != 0 {
		t.Errorf("level not respected: %s", buf.String())
	}

	many := withAttrs(base, slog.Int("a", 1), slog.Int("b", 2), slog.Int("c", 3), slog.Int("d", 4), slog.Int("e", 5))
	buf.Reset()
	many.Info("many")
	if !strings.Contains(buf.String(), `"a":1`) || !strings.Contains(buf.String(), `"e":5`) {
		t.Errorf("more than four attrs lost: %s", buf.String())
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestWithAllocs(t *testing.T) {
	base := slog.New(slog.DiscardHandler)
	allocs := testing.AllocsPerRun(100, func() {
		withAttrs(base, slog.String("request_id", "r1"), slog.String("event_id", "evt_1"))
	})
	if allocs > 2 {
		t.Errorf("With allocates %v times, want at most 2", allocs)
	}
}

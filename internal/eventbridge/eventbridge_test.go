package eventbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/pipeline"
	"stripetask/internal/testlog"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// recorder counts runs per event and fails the ones whose charge says so.
type recorder struct {
	dispatch.Env
	r *runs
}

type runs struct {
	mu sync.Mutex
	n  map[string]int
}

func (r *runs) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[id]
}

func (h *recorder) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.r.mu.Lock()
	h.r.n[h.Event.ID]++
	h.r.mu.Unlock()
	if c.Description == "fail" {
		return errors.New("warehouse down")
	}
	return nil
}

func (h *recorder) Default(ctx context.Context) error {
	h.r.mu.Lock()
	defer h.r.mu.Unlock()
	h.r.n[h.Event.ID]++
	return nil
}

const partner = "aws.partner/stripe.com/ed_test_61RtJ9bXk2Zt3Q9v8yUeSGY3DQ2mN4"

func newPipeline(t *testing.T, store dedup.Store) (*pipeline.Pipeline, *runs, *testlog.Buffer) {
	t.Helper()
	r := &runs{n: map[string]int{}}
	d, err := dispatch.New(recorder{r: r})
	if err != nil {
		t.Fatal(err)
	}
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	deps := function.Deps{Secrets: secrets.Static{"STRIPE_WEBHOOK_SECRET": fixture.LocalSecret}, Log: log}
	return pipeline.New(pipeline.Config{Deps: deps, Dispatcher: d, Dedup: store, Function: "webhook"}), r, buf
}

func envelope(source, eventID, description string) []byte {
	detail := fmt.Sprintf(`{"id":%q,"object":"event","created":1750000000,"livemode":false,"type":"charge.succeeded","data":{"object":{"id":"ch_1","object":"charge","description":%q}}}`, eventID, description)
	return []byte(fmt.Sprintf(`{"version":"0","id":"eb-%s","detail-type":"charge.succeeded","source":%q,"account":"123456789012","time":"2026-11-26T12:00:00Z","region":"us-east-1","resources":[],"detail":%s}`, eventID, source, detail))
}

func TestFixtures(t *testing.T) {
	p, r, _ := newPipeline(t, nil)
	h := New(p, partner)
	files, _ := filepath.Glob("../../events/eventbridge/*.json")
	if len(files) == 0 {
		t.Fatal("no fixtures in events/eventbridge")
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := h.Invoke(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var res struct {
			Status  string `json:"status"`
			EventID string `json:"event_id"`
		}
		json.Unmarshal(out, &res)
		var e Event
		json.Unmarshal(raw, &e)
		var ev struct{ ID string }
		json.Unmarshal(e.Detail, &ev)
		if res.Status != "handled" || res.EventID != ev.ID || r.count(ev.ID) != 1 {
			t.Errorf("%s: %s, ran %d", f, out, r.count(ev.ID))
		}
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		only     string
		payload  []byte
		status   string
		fails    bool
		ran      int
		logLevel string
	}{
		{"handled", partner, envelope(partner, "evt_1", "ok"), "handled", false, 1, "INFO"},
		{"a Stripe source without STRIPE_EVENT_SOURCE", "", envelope(partner, "evt_2", "ok"), "foreign_source", false, 0, "ERROR"},
		{"another Stripe source", partner, envelope("aws.partner/stripe.com/ed_other", "evt_3", "ok"), "foreign_source", false, 0, "ERROR"},
		{"not Stripe at all", "", envelope("aws.partner/example.com/x", "evt_4", "ok"), "foreign_source", false, 0, "ERROR"},
		{"not Stripe at all, with STRIPE_EVENT_SOURCE", partner, envelope("aws.partner/example.com/x", "evt_4b", "ok"), "foreign_source", false, 0, "ERROR"},
		{"the configured source with a suffix", partner, envelope(partner+"x", "evt_4c", "ok"), "foreign_source", false, 0, "ERROR"},
		{"handler error", partner, envelope(partner, "evt_5", "fail"), "", true, 1, "ERROR"},
		{"detail not an event", partner, []byte(`{"version":"0","id":"eb-6","detail-type":"x.y","source":"` + partner + `","detail":{"hello":1}}`), "not_event", false, 0, "WARN"}, // refused: acknowledged, as no retry can mend it
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, r, logs := newPipeline(t, nil)
			out, err := New(p, tt.only).Invoke(context.Background(), tt.payload)
			if (err != nil) != tt.fails {
				t.Fatalf("error %v, want failure %v", err, tt.fails)
			}
			if !tt.fails && !strings.Contains(string(out), `"status":"`+tt.status+`"`) {
				t.Fatalf("answer %s, want %s", out, tt.status)
			}
			total := 0
			for _, n := range r.n {
				total += n
			}
			if total != tt.ran {
				t.Fatalf("ran %d, want %d", total, tt.ran)
			}
			lines := logs.Messages(t, "delivery")
			if len(lines) != 1 || lines[0]["source"] != "eventbridge" || lines[0]["level"] != tt.logLevel {
				t.Fatalf("lines: %v", lines)
			}
		})
	}
	if _, err := New(nil, "").Invoke(context.Background(), []byte(`{"hello":"world"}`)); !errors.Is(err, ErrNotEventBridge) {
		t.Fatalf("not an EventBridge event: %v", err)
	}
}

// TestDedupAcrossSources delivers one event through the webhook and through
// EventBridge, against one DynamoDB table (moto): it runs once.
func TestDedupAcrossSources(t *testing.T) {
	store, _ := deduptest.Store(t, "events")
	p, r, _ := newPipeline(t, store)
	payload := envelope(partner, "evt_both", "ok")
	var e Event
	json.Unmarshal(payload, &e)

	wh := webhookhttp.New(webhookhttp.Config{Deps: function.Deps{Secrets: secrets.Static{"STRIPE_WEBHOOK_SECRET": fixture.LocalSecret}}, Pipeline: p})
	req, _ := http.NewRequest("POST", "/webhook", bytes.NewReader(e.Detail))
	req.Header.Set("Stripe-Signature", fixture.Sign(e.Detail, fixture.LocalSecret, time.Now()))
	w := httptest.NewRecorder()
	wh.ServeHTTP(w, req)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "handled") {
		t.Fatalf("webhook: %d %s", w.Code, w.Body)
	}
	out, err := New(p, partner).Invoke(context.Background(), payload)
	if err != nil || !strings.Contains(string(out), `"status":"duplicate"`) {
		t.Fatalf("EventBridge after the webhook: %s %v", out, err)
	}
	if n := r.count("evt_both"); n != 1 {
		t.Fatalf("ran %d times", n)
	}
}

// TestFailClosed: without STRIPE_EVENT_SOURCE (the template's default,
// EventBridge not enabled), an EventBridge-shaped payload with a Stripe
// partner source, as anyone allowed lambda:InvokeFunction could send, runs
// nothing: its method does not run, its one delivery line is an error with
// outcome foreign_source saying why, and the invocation succeeds so that
// nothing retries it. The same event with STRIPE_EVENT_SOURCE naming its
// source runs.
func TestFailClosed(t *testing.T) {
	p, r, logs := newPipeline(t, nil)
	forged := envelope(partner, "evt_forged", "ok")
	out, err := New(p, "").Invoke(context.Background(), forged)
	if err != nil || !strings.Contains(string(out), `"status":"foreign_source"`) {
		t.Fatalf("without STRIPE_EVENT_SOURCE: answer %s, error %v; want foreign_source, acknowledged", out, err)
	}
	if n := r.count("evt_forged"); n != 0 {
		t.Fatalf("the forged event ran %d times without STRIPE_EVENT_SOURCE", n)
	}
	lines := logs.Messages(t, "delivery")
	if len(lines) != 1 {
		t.Fatalf("delivery lines %v, want 1", lines)
	}
	l := lines[0]
	msg, _ := l["error"].(string)
	if l["level"] != "ERROR" || l["outcome"] != "foreign_source" || l["source"] != "eventbridge" ||
		!strings.Contains(msg, "STRIPE_EVENT_SOURCE is not set") || !strings.Contains(msg, `"`+partner+`"`) {
		t.Fatalf("refusal line %v: want an error with outcome foreign_source naming the source and STRIPE_EVENT_SOURCE", l)
	}

	long := strings.Repeat("x", 10*maxQuoted)
	New(p, partner).Invoke(context.Background(), envelope(long, "evt_long", "ok"))
	if all := logs.Messages(t, "delivery"); len(all) != 2 || strings.Contains(all[1]["error"].(string), long[:maxQuoted+1]) {
		t.Fatalf("a long source is quoted whole: %v", all)
	}

	if out, err := New(p, partner).Invoke(context.Background(), forged); err != nil || !strings.Contains(string(out), `"status":"handled"`) || r.count("evt_forged") != 1 {
		t.Fatalf("with STRIPE_EVENT_SOURCE %s: answer %s, error %v, ran %d; want handled once", partner, out, err, r.count("evt_forged"))
	}
}

package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"stripetask/internal/function"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

// TestOutcomeTable holds the closed set together: every outcome has one
// entry in the table, and the table has no other.
func TestOutcomeTable(t *testing.T) {
	all := Outcomes()
	seen := map[Outcome]bool{}
	for _, o := range all {
		if seen[o] {
			t.Errorf("%s listed twice", o)
		}
		seen[o] = true
		if _, ok := disposition[o]; !ok {
			t.Errorf("%s has no disposition", o)
		}
	}
	for o := range disposition {
		if !seen[o] {
			t.Errorf("%s is in the table but not in Outcomes()", o)
		}
	}
}

// TestDisposition pins what each outcome means for its event, and that an
// outcome outside the set is never taken for done and always alerts.
func TestDisposition(t *testing.T) {
	tests := []struct {
		o      Outcome
		d      Disposition
		alerts bool
	}{
		{Handled, Done, false},
		{Duplicate, Done, false},
		{Ignored, Done, false},
		{TestEventInLiveMode, Done, false}, // the worker and replay once called it a failure
		{Queued, Done, false},
		{InProgress, Retry, false},
		{HandlerError, Retry, true},
		{HandlerPanic, Retry, true},
		{HandlerTimeout, Retry, true},
		{DedupUnavailable, Retry, true},
		{SecretsUnavailable, Retry, true},
		{InitFailed, Retry, true},
		{QueueUnavailable, Retry, true},
		{AuthNotConfigured, Retry, true},
		{UndecodableObject, Refused, true},
		{APIVersionMismatch, Refused, true},
		{ForeignSource, Refused, true},
		{BadSignature, Refused, false},
		{Malformed, Refused, false},
		{NotEvent, Refused, false},
		{Unauthorized, Refused, false},
		{TooLarge, Refused, false},
		{MethodNotAllowed, Refused, false},
		{UnreadableBody, Refused, false},
		{"something_new", Retry, true},
	}
	for _, tt := range tests {
		if got := tt.o.Disposition(); got != tt.d {
			t.Errorf("%s.Disposition() = %v, want %v", tt.o, got, tt.d)
		}
		if got := tt.o.Alerts(); got != tt.alerts {
			t.Errorf("%s.Alerts() = %v, want %v", tt.o, got, tt.alerts)
		}
		if got := tt.o.Done(); got != (tt.d == Done) {
			t.Errorf("%s.Done() = %v", tt.o, got)
		}
	}
	if n := len(tests) - 1; n != len(Outcomes()) {
		t.Errorf("the test pins %d outcomes, the set has %d", n, len(Outcomes()))
	}
	for _, d := range []Disposition{Done, Retry, Refused, 0} {
		if d.String() == "" || (d == 0) != (d.String() == "unknown") {
			t.Errorf("Disposition(%d).String() = %q", d, d.String())
		}
	}
}

// TestAlertingOutcomes checks that no outcome both alerts and is done, and
// that a live claim elsewhere (ordinary concurrency) does not alert.
func TestAlertingOutcomes(t *testing.T) {
	var got []Outcome
	for _, o := range Outcomes() {
		if o.Alerts() {
			got = append(got, o)
		}
	}
	for _, o := range got {
		if o.Done() {
			t.Errorf("%s alerts but is done", o)
		}
	}
	if !slices.Contains(got, HandlerTimeout) || slices.Contains(got, InProgress) {
		t.Errorf("alerting outcomes %v", got)
	}
}

// hungSecrets is a secrets source whose backend never answers (a Secrets
// Manager without a route to it) but which holds a snapshot from earlier.
type hungSecrets struct{ held secrets.Map }

func (h hungSecrets) Load(ctx context.Context) (secrets.Map, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (h hungSecrets) Cached() (secrets.Map, bool) { return h.held, h.held != nil }

// TestRefuseNeverFetches: the line of a refused event is redacted with the
// secrets the source holds, without a fetch, even on a context without a
// deadline while the backend hangs.
func TestRefuseNeverFetches(t *testing.T) {
	var buf testlog.Buffer
	p := New(Config{Deps: function.Deps{Secrets: hungSecrets{held: secrets.Map{"STRIPE_KEY": stripeKey}}, Log: slog.New(slog.NewJSONHandler(&buf, nil))}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Refuse(context.Background(), Input{Source: testSource, RequestID: "req-h"}, BadSignature, errors.New("refused with "+stripeKey))
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the refusal's line waits on the secrets' backend")
	}
	if out := buf.String(); strings.Contains(out, stripeKey) || !strings.Contains(out, "refused with [STRIPE_KEY]") {
		t.Fatalf("line not redacted with the held secrets:\n%s", out)
	}
}

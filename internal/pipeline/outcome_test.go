package pipeline

import (
	"slices"
	"testing"
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

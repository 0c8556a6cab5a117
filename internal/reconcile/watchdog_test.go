package reconcile_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/reconcile"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
)

// TestEndpointWatchdog: each pass reads the webhook endpoint whose id
// make register stored. Disabled (or deleted) is an error line and
// EndpointDisabled 1, every pass until it is enabled again; enabled is 0;
// with no id stored, a warning and no EndpointDisabled metric at all.
func TestEndpointWatchdog(t *testing.T) {
	w := newWorld(t, nil, "")
	r := w.reconciler(nil)
	steps := []struct {
		name     string
		setup    func()
		status   string
		metric   any // EndpointDisabled in the summary line; nil: absent
		errLines int // new "webhook endpoint ..." error lines
		warn     string
	}{
		{name: "enabled", setup: func() {}, status: "enabled", metric: 0.0},
		{name: "disabled", setup: func() { w.fake.SetEndpoint(endpointID, "disabled") }, status: "disabled", metric: 1.0, errLines: 1},
		{name: "still disabled", setup: func() {}, status: "disabled", metric: 1.0, errLines: 1},
		{name: "enabled again", setup: func() { w.fake.SetEndpoint(endpointID, "enabled") }, status: "enabled", metric: 0.0},
		{name: "deleted", setup: func() { w.secrets[reconcile.EndpointIDSecret] = "we_deleted" }, status: "missing", metric: 1.0, errLines: 1},
		{name: "not stored", setup: func() { delete(w.secrets, reconcile.EndpointIDSecret) }, status: "not_watched", metric: nil, warn: "STRIPE_WEBHOOK_ENDPOINT_ID is not set"},
		{name: "Stripe down", setup: func() {
			w.secrets[reconcile.EndpointIDSecret] = endpointID
			w.fake.SetDown(true)
		}, status: "unknown", metric: nil, warn: "could not read the webhook endpoint"},
	}
	for _, st := range steps {
		before := len(endpointErrors(t, w))
		warnings := len(w.logs.Messages(t, st.warn))
		st.setup()
		s, err := r.Pass(t.Context(), st.name)
		line := w.logs.Messages(t, reconcile.SummaryMsg)
		last := line[len(line)-1]
		if st.name == "Stripe down" {
			if err == nil {
				t.Errorf("%s: the pass did not fail without the Events API", st.name)
			}
		} else if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.Endpoint.Status != st.status || last["endpoint_status"] != st.status {
			t.Errorf("%s: endpoint %+v, line's status %v; want %s", st.name, s.Endpoint, last["endpoint_status"], st.status)
		}
		if got, ok := last["EndpointDisabled"]; got != st.metric || (st.metric == nil && ok) {
			t.Errorf("%s: EndpointDisabled %v, want %v", st.name, got, st.metric)
		}
		errs := endpointErrors(t, w)
		if len(errs)-before != st.errLines {
			t.Errorf("%s: %d new endpoint error lines, want %d", st.name, len(errs)-before, st.errLines)
		}
		if st.errLines > 0 {
			l := errs[len(errs)-1]
			if l["level"] != "ERROR" || l["endpoint_id"] == nil {
				t.Errorf("%s: endpoint line %v, want an error naming the endpoint", st.name, l)
			}
			if st.status == "disabled" && !strings.Contains(l["msg"].(string), "stripe webhook_endpoints update "+endpointID+" --disabled=false") {
				t.Errorf("%s: the line does not say how to enable it: %v", st.name, l["msg"])
			}
		}
		if st.warn != "" {
			n := 0
			for _, l := range w.logs.Lines(t) {
				if m, _ := l["msg"].(string); strings.Contains(m, st.warn) && l["level"] == "WARN" {
					n++
				}
			}
			if n <= warnings {
				t.Errorf("%s: no warning %q", st.name, st.warn)
			}
		}
	}
}

// endpointErrors returns the watchdog's error lines so far.
func endpointErrors(t *testing.T, w *world) []map[string]any {
	var out []map[string]any
	for _, l := range w.logs.Lines(t) {
		if m, _ := l["msg"].(string); strings.HasPrefix(m, "webhook endpoint ") && l["level"] == "ERROR" {
			out = append(out, l)
		}
	}
	return out
}

// TestWatchdogRedactsStripe: Stripe's error text may quote the API key,
// and stripe-mock (the real one, started by the test) does for a key it
// refuses: "Authorization was 'Bearer sk_live_...'". The watchdog's
// warning, the pass's summary line and the error the pass returns (the
// invocation's error, `once`'s stderr) name the secret instead of quoting
// it, and the error still unwraps to Stripe's.
func TestWatchdogRedactsStripe(t *testing.T) {
	const key = "sk_live_51LeakTestKey0123456789abcdefGHIJ" // stripe-mock accepts only test keys
	w := newWorld(t, nil, "")
	w.secrets[stripeclient.KeySecret] = key
	w.secrets[stripeclient.APIBaseSecret] = stripemock.Start(t)
	_, err := w.reconciler(nil).Pass(t.Context(), "echo")
	if err == nil {
		t.Fatal("the pass succeeded with a key stripe-mock refuses")
	}
	if _, ok := errors.AsType[*stripe.Error](err); !ok || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "[STRIPE_KEY]") {
		t.Errorf("the pass's error %q (Stripe's: %v): want Stripe's error, with the key named, not quoted", err, ok)
	}
	if strings.Contains(w.logs.String(), key) {
		t.Errorf("the log quotes the key:\n%s", w.logs)
	}
	warned := false
	for _, l := range w.logs.Lines(t) {
		if l["msg"] == "could not read the webhook endpoint" {
			msg, _ := l["error"].(string)
			warned = strings.Contains(msg, "Authorization was 'Bearer [STRIPE_KEY]'")
		}
	}
	if !warned {
		t.Errorf("no watchdog warning with Stripe's error, the key named:\n%s", w.logs)
	}
}

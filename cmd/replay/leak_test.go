package main

import (
	"strings"
	"testing"
	"time"

	"stripetask/internal/fakestripe"
	"stripetask/internal/leaktest"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// TestReplayNoSecretInAnyOutput runs replay's failure paths with
// realistic secret values (leaktest) and leaktest.Handler, which fails and
// panics quoting every secret, and searches stdout and stderr for every
// value: Stripe refusing the key and quoting it (the real stripe-mock,
// given leaktest.LiveKey) while listing and while fetching by id, and the
// Handler's Init and methods failing (the events from fakestripe, since
// stripe-mock's list ignores its filters). internal/bootstrap's
// TestNoSecretInAnyOutput does the same for the functions.
func TestReplayNoSecretInAnyOutput(t *testing.T) {
	mock := stripemock.Start(t)
	fake := fakestripe.Start(t)
	now := time.Now()
	fake.Add(t, fakestripe.Event("evt_leak_error", "charge.succeeded", now.Add(-40*time.Minute).Unix(), `{"id":"ch_leak_1","object":"charge"}`),
		fakestripe.Event("evt_leak_panic", "charge.failed", now.Add(-30*time.Minute).Unix(), `{"id":"ch_leak_2","object":"charge"}`))
	echo := proctest.With(leaktest.Env(leaktest.LiveKey), "STRIPE_API_BASE", mock)
	events := proctest.With(leaktest.Env(leaktest.TestKey), "STRIPE_API_BASE", fake.URL())
	tests := []struct {
		name     string
		env      map[string]string
		proto    leaktest.Handler
		args     []string
		outcomes []string // of the delivery lines, in order
		quote    string   // in stderr: the error, its secrets named
	}{
		{"listing, Stripe echoing the key", echo, leaktest.Handler{}, []string{"-since", "2h"}, nil, "Authorization was 'Bearer [STRIPE_KEY]'"},
		{"fetching, Stripe echoing the key", echo, leaktest.Handler{}, []string{"evt_leak_error"}, nil, "Authorization was 'Bearer [STRIPE_KEY]'"},
		{"failing methods", events, leaktest.Handler{}, []string{"-since", "2h"}, []string{"handler_error", "handler_panic"}, "[STRIPE_WEBHOOK_SECRET]"},
		{"failing Init", events, leaktest.Handler{InitFails: true}, []string{"-since", "2h"}, []string{"init_failed", "init_failed"}, "[PAY_API_KEY]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr testlog.Buffer
			code := Run(t.Context(), tt.proto, proctest.Process(tt.env, tt.args, &stdout, &stderr))
			leaktest.Check(t, "stdout", stdout.String())
			leaktest.Check(t, "stderr", stderr.String())
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			var got []string
			for _, l := range deliveries(t, stderr.String()) {
				got = append(got, l["outcome"].(string))
			}
			if strings.Join(got, " ") != strings.Join(tt.outcomes, " ") {
				t.Errorf("delivery outcomes %q, want %q", got, tt.outcomes)
			}
			if !strings.Contains(stderr.String(), tt.quote) {
				t.Errorf("stderr lacks %q: the path did not quote the secret:\n%s", tt.quote, stderr.String())
			}
		})
	}
}

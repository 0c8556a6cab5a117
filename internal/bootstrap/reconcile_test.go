package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fakestripe"
	"stripetask/internal/testlog"
)

func TestReadReconcileSettings(t *testing.T) {
	const table = "events"
	tests := []struct {
		name    string
		env     map[string]string
		want    reconcileSettings
		wantErr string
	}{
		{"defaults", map[string]string{}, reconcileSettings{Grace: 10 * time.Minute, Lookback: time.Hour}, ""},
		{"set", map[string]string{"RECONCILE_GRACE": "2m", "RECONCILE_LOOKBACK": "720h"}, reconcileSettings{Grace: 2 * time.Minute, Lookback: 30 * 24 * time.Hour}, ""},
		{"seconds", map[string]string{"RECONCILE_GRACE": "0", "RECONCILE_LOOKBACK": "60"}, reconcileSettings{Grace: 0, Lookback: time.Minute}, ""},
		{"no dedup table", map[string]string{"DEDUP_TABLE": ""}, reconcileSettings{}, "DEDUP_TABLE is not set: the reconciler needs the dedup table"},
		{"bad grace", map[string]string{"RECONCILE_GRACE": "soon"}, reconcileSettings{}, `RECONCILE_GRACE="soon": want a duration`},
		{"negative grace", map[string]string{"RECONCILE_GRACE": "-1m"}, reconcileSettings{}, `RECONCILE_GRACE="-1m": want between 0s and 24h0m0s`},
		{"grace of days", map[string]string{"RECONCILE_GRACE": "48h"}, reconcileSettings{}, "RECONCILE_GRACE"},
		{"lookback past 30 days", map[string]string{"RECONCILE_LOOKBACK": "721h"}, reconcileSettings{}, `RECONCILE_LOOKBACK="721h": want between 1m0s and 720h0m0s`},
		{"lookback of seconds", map[string]string{"RECONCILE_LOOKBACK": "30s"}, reconcileSettings{}, "RECONCILE_LOOKBACK"},
		{"bad lookback", map[string]string{"RECONCILE_LOOKBACK": "a while"}, reconcileSettings{}, `RECONCILE_LOOKBACK="a while"`},
		{"lookback within the grace", map[string]string{"RECONCILE_GRACE": "1h", "RECONCILE_LOOKBACK": "30m"}, reconcileSettings{}, "RECONCILE_LOOKBACK=30m0s is not longer than RECONCILE_GRACE=1h0m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DEDUP_TABLE": table}
			for k, v := range tt.env {
				env[k] = v
			}
			got, err := readReconcileSettings(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v %v, want %+v", got, err, tt.want)
			}
		})
	}
}

// chargeCounter has one method, counting its runs.
type chargeCounter struct {
	dispatch.Env
	n *atomic.Int32
}

func (h *chargeCounter) ChargeSucceeded(context.Context, *stripe.Charge) error {
	h.n.Add(1)
	return nil
}

// runReconcile runs bootstrap.Reconcile as functions/reconcile does, with
// env as the whole environment, and returns its exit code and output.
func runReconcile(t *testing.T, env map[string]string, n *atomic.Int32, args ...string) (int, string, *testlog.Buffer) {
	t.Helper()
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	var stdout strings.Builder
	stderr := &testlog.Buffer{}
	p := Process{Args: args, Getenv: func(k string) string { return env[k] }, Environ: environ, Stdout: &stdout, Stderr: stderr}
	code := Reconcile(t.Context(), chargeCounter{n: n}, p)
	t.Logf("reconcile %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr)
	return code, stdout.String(), stderr
}

// TestReconcileStartup: the reconciler refuses to start without
// DEDUP_TABLE, or with a setting out of range, naming it; a usage error is
// exit 2.
func TestReconcileStartup(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		contains string
	}{
		{"no dedup table", map[string]string{}, []string{"once"}, 1, "reconcile: DEDUP_TABLE is not set"},
		{"no dedup table in Lambda", map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:1"}, nil, 1, "reconcile: DEDUP_TABLE is not set"},
		{"bad grace", map[string]string{"DEDUP_TABLE": "t", "RECONCILE_GRACE": "-5m"}, []string{"once"}, 1, `reconcile: RECONCILE_GRACE="-5m"`},
		{"bad log level", map[string]string{"DEDUP_TABLE": "t", "LOG_LEVEL": "loud"}, []string{"once"}, 1, `LOG_LEVEL="loud"`},
		{"no command", map[string]string{"DEDUP_TABLE": "t"}, nil, 2, "usage: reconcile once"},
		{"unknown command", map[string]string{"DEDUP_TABLE": "t"}, []string{"serve"}, 2, "usage: reconcile once"},
		{"extra argument", map[string]string{"DEDUP_TABLE": "t"}, []string{"once", "now"}, 2, "usage: reconcile once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int32
			code, _, stderr := runReconcile(t, tt.env, &n, tt.args...)
			if code != tt.code || !strings.Contains(stderr.String(), tt.contains) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.contains)
			}
		})
	}
	var n atomic.Int32
	if code, stdout, _ := runReconcile(t, map[string]string{}, &n, "help"); code != 0 || !strings.Contains(stdout, "usage: reconcile once") {
		t.Errorf("help: exit %d, stdout %q", code, stdout)
	}
}

// TestReconcileOnce runs `reconcile once` twice, as two processes, against
// moto's DynamoDB and fakestripe (which stands in for Stripe's Events API:
// stripe-mock's event list ignores created, cursors and types). The first
// runs the missed events and prints its summary; the second starts from
// the watermark the first saved, and runs nothing.
func TestReconcileOnce(t *testing.T) {
	deduptest.Table(t, "once")
	fake := fakestripe.Start(t)
	fake.SetEndpoint("we_once", "disabled")
	now := time.Now()
	for i, typ := range []string{"charge.succeeded", "charge.failed", "charge.succeeded", "invoice.paid"} {
		id := fmt.Sprintf("evt_once_%d", i)
		fake.Add(t, fakestripe.Event(id, typ, now.Add(-time.Duration(30-i)*time.Minute).Unix(), `{"id":"ch_`+id+`","object":"charge"}`))
	}
	env := map[string]string{
		"DEDUP_TABLE": "once", "STRIPE_KEY": "sk_test_123", "STRIPE_API_BASE": fake.URL(),
		"STRIPE_WEBHOOK_ENDPOINT_ID": "we_once", "RECONCILE_GRACE": "1m", "RECONCILE_LOOKBACK": "2h",
	}
	for k := range map[string]bool{"AWS_ENDPOINT_URL": true, "AWS_REGION": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true} {
		env[k] = os.Getenv(k)
	}

	var n atomic.Int32
	code, stdout, stderr := runReconcile(t, env, &n, "once")
	if code != 0 || n.Load() != 2 {
		t.Fatalf("exit %d, %d runs; want 0 and the 2 charge.succeeded events run", code, n.Load())
	}
	for _, s := range []string{"listed 2: 0 already done, 2 dispatched (2 handled, 0 failed)", "webhook endpoint we_once: DISABLED", "stripe webhook_endpoints update we_once --disabled=false"} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q", s)
		}
	}
	first := summaryLine(t, stderr)
	if first["dispatched"] != 2.0 || first["EndpointDisabled"] != 1.0 || first["ReconcileMissed"] != 2.0 {
		t.Errorf("summary line %v", first)
	}

	code, stdout, stderr = runReconcile(t, env, &n, "once")
	second := summaryLine(t, stderr)
	if code != 0 || n.Load() != 2 || second["dispatched"] != 0.0 || !strings.Contains(stdout, "0 dispatched") {
		t.Errorf("second process: exit %d, %d runs in all, line %v; want nothing dispatched", code, n.Load(), second)
	}
	to, _ := time.Parse(time.RFC3339, first["window_to"].(string))
	if want := to.Add(time.Second - 5*time.Minute).Format(time.RFC3339); second["window_from"] != want {
		t.Errorf("the second process lists from %v, want %s: the first's watermark less the overlap", second["window_from"], want)
	}
}

// summaryLine returns the one summary line in out.
func summaryLine(t *testing.T, out *testlog.Buffer) map[string]any {
	t.Helper()
	lines := out.Messages(t, "reconcile")
	if len(lines) != 1 {
		t.Fatalf("%d summary lines, want 1", len(lines))
	}
	b, _ := json.Marshal(lines[0])
	t.Logf("summary: %s", b)
	return lines[0]
}

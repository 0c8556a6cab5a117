package bootstrap

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"stripetask/handler"
	"stripetask/internal/devtools"
	"stripetask/internal/fixture"
	"stripetask/internal/testlog"
)

// invokeProcess is a Process with env as its whole environment.
func invokeProcess(env map[string]string, args ...string) (Process, *testlog.Buffer, *testlog.Buffer) {
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	stdout, stderr := &testlog.Buffer{}, &testlog.Buffer{}
	return Process{
		Args:    args,
		Getenv:  func(k string) string { return env[k] },
		Environ: environ,
		Stdin:   strings.NewReader(""),
		Stdout:  stdout,
		Stderr:  stderr,
	}, stdout, stderr
}

// TestInvokeStartsStripeMock runs the README's first invoke command, with
// no STRIPE_KEY: the handler lists the session's line items through the
// Stripe API, which must be a local stripe-mock, so the delivery is handled.
func TestInvokeStartsStripeMock(t *testing.T) {
	event := filepath.Join("..", "..", "events", "checkout.session.completed.json")
	p, stdout, stderr := invokeProcess(map[string]string{"STRIPE_WEBHOOK_SECRET": fixture.LocalSecret}, "invoke", event)
	code := Webhook(t.Context(), handler.Handler{}, p)
	if code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	var res struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &res); err != nil {
		t.Fatalf("response: %v\n%s", err, stdout)
	}
	if res.StatusCode != 200 || !strings.Contains(res.Body, `"handled"`) {
		t.Errorf("status %d body %s, want 200 handled; stderr:\n%s", res.StatusCode, res.Body, stderr)
	}
	if !strings.Contains(stderr.String(), "webhook invoke: STRIPE_KEY is not set: using stripe-mock at http://127.0.0.1:") {
		t.Errorf("stderr does not say stripe-mock was started:\n%s", stderr)
	}
	if strings.Contains(stderr.String()+stdout.String(), devtools.StripeMockKey) {
		t.Errorf("output shows the API key")
	}
}

// TestPayInvokeStartsStripeMock does the same for the pay function.
func TestPayInvokeStartsStripeMock(t *testing.T) {
	event := filepath.Join("..", "..", "events", "pay", "customers.create.json")
	p, stdout, stderr := invokeProcess(map[string]string{
		"PAY_API_KEY":            "pay_local_test_key_0123456789",
		"STRIPE_PUBLISHABLE_KEY": "pk_test_123",
	}, "invoke", event)
	if code := Pay(t.Context(), p); code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout.String(), `"statusCode": 201`) {
		t.Errorf("response is not a 201:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if !strings.Contains(stderr.String(), "pay invoke: STRIPE_KEY is not set: using stripe-mock") {
		t.Errorf("stderr does not say stripe-mock was started:\n%s", stderr)
	}
}

// TestLocalStripeOnlyForInvoke checks when stripe-mock is started: only for
// `invoke FILE` outside Lambda, with secrets from the environment and no
// STRIPE_KEY.
func TestLocalStripeOnlyForInvoke(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want bool
	}{
		{"invoke without STRIPE_KEY", nil, []string{"invoke", "e.json"}, true},
		{"invoke stdin", nil, []string{"invoke", "-"}, true},
		{"invoke with STRIPE_KEY", map[string]string{"STRIPE_KEY": "sk_test_xyz"}, []string{"invoke", "e.json"}, false},
		{"invoke with Secrets Manager", map[string]string{"SECRETS_ID": "prod"}, []string{"invoke", "e.json"}, false},
		{"Lambda", map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, []string{"invoke", "e.json"}, false},
		{"Lambda, no args", map[string]string{"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, nil, false},
		{"serve", nil, []string{"serve"}, false},
		{"serve -addr", nil, []string{"serve", "-addr", ":3000"}, false},
		{"invoke without FILE", nil, []string{"invoke"}, false},
		{"help", nil, []string{"help"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, _ := invokeProcess(tt.env, tt.args...)
			if got := wantsLocalStripe(p); got != tt.want {
				t.Errorf("wantsLocalStripe = %v, want %v", got, tt.want)
			}
			if tt.want {
				return
			}
			// Otherwise localStripe leaves the process alone and starts nothing.
			q, stop, err := localStripe(context.Background(), "webhook", p)
			if err != nil {
				t.Fatal(err)
			}
			stop()
			if q.Getenv("STRIPE_API_BASE") != "" || len(q.Environ) != len(p.Environ) {
				t.Errorf("process changed: %v", q.Environ)
			}
		})
	}
}

// TestLocalStripeMissing checks the error when stripe-mock cannot be run:
// it names `make tools` and STRIPE_KEY.
func TestLocalStripeMissing(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // no go.mod above: no <repo>/bin
	t.Setenv("PATH", dir)
	p, _, _ := invokeProcess(nil, "invoke", "e.json")
	_, _, err := localStripe(context.Background(), "webhook", p)
	if err == nil || !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), "STRIPE_KEY") {
		t.Fatalf("error %v, want one naming `make tools` and STRIPE_KEY", err)
	}
}

// TestWithEnv checks that the environment overrides reach both Getenv and
// Environ, replacing earlier values.
func TestWithEnv(t *testing.T) {
	p, _, _ := invokeProcess(map[string]string{"STRIPE_KEY": "", "OTHER": "x"})
	q := withEnv(p, "STRIPE_KEY", "k", "STRIPE_API_BASE", "http://b")
	if q.Getenv("STRIPE_KEY") != "k" || q.Getenv("STRIPE_API_BASE") != "http://b" || q.Getenv("OTHER") != "x" {
		t.Errorf("Getenv: %q %q %q", q.Getenv("STRIPE_KEY"), q.Getenv("STRIPE_API_BASE"), q.Getenv("OTHER"))
	}
	var keys []string
	for _, kv := range q.Environ {
		if strings.HasPrefix(kv, "STRIPE_KEY=") {
			keys = append(keys, kv)
		}
	}
	if len(keys) != 1 || keys[0] != "STRIPE_KEY=k" || len(q.Environ) != 3 {
		t.Errorf("Environ %q", q.Environ)
	}
}

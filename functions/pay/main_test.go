package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/internal/bootstrap"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// Secrets of the tests: the local ones the README and env.json give. None
// may appear in the function's output; client secrets only in a
// client_secret field.
const (
	localAPIKey = "pay_local_test_key_0123456789"
	localPK     = "pk_test_123"
	shopOrigin  = "https://shop.example.com" // the origin of the browser fixtures
)

// fixturesDir holds the pay function's API Gateway fixtures.
const fixturesDir = "../../events/pay"

// wantStatus is each fixture's status against stripe-mock. checkout.json is
// refused because stripe-mock's Price fixture is a recurring price and
// /checkout sells one-time prices only (the pay package tests its success
// with a stub serving a one-time price).
var wantStatus = map[string]int{
	"payment-intents.create.json":   201,
	"payment-intents.get.json":      200,
	"payment-intents.capture.json":  200,
	"payment-intents.cancel.json":   200,
	"customers.create.json":         201,
	"subscriptions.create.json":     201,
	"subscriptions.get.json":        200,
	"subscriptions.cancel.json":     200,
	"subscriptions.cancel-now.json": 200,
	"refunds.create.json":           201,
	"checkout.json":                 400,
	"checkout.preflight.json":       204,
	"health.json":                   200,
}

// baseEnv is the environment of a configured local pay function.
func baseEnv(apiBase string) map[string]string {
	return map[string]string{
		"STRIPE_KEY":             stripemock.Key,
		"STRIPE_API_BASE":        apiBase,
		"STRIPE_PUBLISHABLE_KEY": localPK,
		"PAY_API_KEY":            localAPIKey,
		"ALLOWED_ORIGINS":        shopOrigin,
	}
}

// result is what one run of the function produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the pay function as the binary does, with a fake process.
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr proctest.Buffer
	code := bootstrap.Pay(t.Context(), proctest.Process(env, args, &stdout, &stderr))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// checkNoSecrets fails the test if a secret appears in outs, or a client
// secret outside a client_secret field.
func checkNoSecrets(t *testing.T, outs ...string) {
	t.Helper()
	for i, out := range outs {
		for _, s := range []string{localAPIKey, stripemock.Key} {
			if strings.Contains(out, s) {
				t.Errorf("output %d reveals the secret %q:\n%s", i, s, out)
			}
		}
	}
}

// checkNoClientSecret fails the test if a Stripe client secret appears in
// out, which must not hold the API's responses.
func checkNoClientSecret(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "_secret_") {
		t.Errorf("output reveals a client secret:\n%s", out)
	}
}

// TestInvokeFixtures runs `invoke FILE` for every fixture in events/pay
// against stripe-mock.
func TestInvokeFixtures(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	paths, err := filepath.Glob(filepath.Join(fixturesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != len(wantStatus) {
		t.Errorf("%d fixtures in %s, want %d: %q", len(paths), fixturesDir, len(wantStatus), paths)
	}
	for _, path := range paths {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			want, ok := wantStatus[name]
			if !ok {
				t.Fatalf("no expected status for %s", name)
			}
			var e events.APIGatewayV2HTTPRequest
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &e); err != nil || e.Version != "2.0" || e.RequestContext.RequestID == "" {
				t.Fatalf("%s: not a payload 2.0 event with a request id: %v", path, err)
			}
			if e.Headers["authorization"] != "" && e.Headers["authorization"] != "Bearer "+localAPIKey {
				t.Errorf("authorization %q, want the local PAY_API_KEY", e.Headers["authorization"])
			}

			r := run(t, env, "invoke", path)
			if r.code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
			}
			var res events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("stdout is not a payload 2.0 response: %v\n%s", err, r.stdout)
			}
			if res.StatusCode != want {
				t.Errorf("status %d, want %d: %s", res.StatusCode, want, res.Body)
			}
			if res.Body != "" && res.Headers["Content-Type"] != "application/json" {
				t.Errorf("Content-Type %q, want application/json", res.Headers["Content-Type"])
			}
			checkNoSecrets(t, r.stdout, r.stderr)
			checkNoClientSecret(t, r.stderr)
			lines := testlog.Messages(t, r.stderr, "request")
			if len(lines) != 1 {
				t.Fatalf("%d request log lines, want 1:\n%s", len(lines), r.stderr)
			}
			l := lines[0]
			if l["request_id"] != e.RequestContext.RequestID || l["route"] != e.RouteKey || l["status"] != float64(want) {
				t.Errorf("log line %v, want request_id %s, route %s, status %d", l, e.RequestContext.RequestID, e.RouteKey, want)
			}
		})
	}
}

// TestColdStartLog checks that a function missing secrets says so when it
// starts, and that its authenticated routes then fail closed.
func TestColdStartLog(t *testing.T) {
	env := proctest.With(baseEnv(stripemock.Start(t)), "PAY_API_KEY", "")
	r := run(t, env, "invoke", filepath.Join(fixturesDir, "payment-intents.get.json"))
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "PAY_API_KEY is not set") {
		t.Errorf("stderr does not say PAY_API_KEY is missing:\n%s", r.stderr)
	}
	if !strings.Contains(r.stdout, `"statusCode": 503`) {
		t.Errorf("response is not a 503:\n%s", r.stdout)
	}
}

// TestServe runs `serve` on a loopback port and sends it real requests.
func TestServe(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	srv := proctest.Serve(t, bootstrap.Pay, env)
	base := srv.URL
	auth := http.Header{"Authorization": {"Bearer " + localAPIKey}, "Content-Type": {"application/json"}}
	tests := []struct {
		name, method, path, body string
		header                   http.Header
		status                   int
		field                    string // a field the body must have
	}{
		{"health", "GET", "/health", "", nil, 200, "mode"},
		{"create payment intent", "POST", "/payment-intents", `{"amount":2900,"currency":"usd"}`, auth, 201, "client_secret"},
		{"get payment intent", "GET", "/payment-intents/pi_123", "", auth, 200, "amount_received"},
		{"no token", "GET", "/payment-intents/pi_123", "", nil, 401, "error"},
		{"validation", "POST", "/customers", `{"email":"nope"}`, auth, 400, "field"},
		{"unknown path", "GET", "/nope", "", nil, 404, "error"},
		{"wrong method", "PUT", "/health", "", nil, 405, "error"},
		{"preflight", "OPTIONS", "/checkout", "", http.Header{"Origin": {shopOrigin}, "Access-Control-Request-Method": {"POST"}}, 204, ""},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range tt.header {
				req.Header[k] = vs
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d: %s", res.StatusCode, tt.status, body)
			}
			if tt.field == "" {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("body is not JSON: %v: %s", err, body)
			}
			if _, ok := m[tt.field]; !ok {
				t.Errorf("body has no %q: %s", tt.field, body)
			}
			if len(res.Header.Values("Allow")) == 0 && tt.status == 405 {
				t.Error("405 without Allow")
			}
		})
	}

	if code := srv.Stop(); code != 0 {
		t.Errorf("serve returned %d after cancellation; stderr:\n%s", code, srv.Stderr)
	}
	if n := len(srv.Stderr.Messages(t, "request")); n != len(tests) {
		t.Errorf("%d request log lines, want %d:\n%s", n, len(tests), srv.Stderr)
	}
	checkNoSecrets(t, srv.Stdout.String(), srv.Stderr.String())
	checkNoClientSecret(t, srv.Stderr.String())
}

// TestUsage checks the command line without a mode, and bad settings.
func TestUsage(t *testing.T) {
	env := baseEnv("http://127.0.0.1:1")
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout bool   // usage on stdout rather than stderr
		text   string // expected in the output
	}{
		{name: "no arguments", args: nil, code: 2, text: "Usage"},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, text: "Usage"},
		{name: "help", args: []string{"help"}, code: 0, stdout: true, text: "Usage"},
		{name: "invoke without FILE", args: []string{"invoke"}, code: 2, text: "usage"},
		{name: "invoke a missing file", args: []string{"invoke", "no-such-event.json"}, code: 1, text: "no-such-event.json"},
		{name: "bad LOG_LEVEL", env: proctest.With(env, "LOG_LEVEL", "loud"), args: []string{"serve"}, code: 1, text: "LOG_LEVEL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := env
			if tt.env != nil {
				e = tt.env
			}
			r := run(t, e, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d", r.code, tt.code)
			}
			out, other := r.stderr, r.stdout
			if tt.stdout {
				out, other = r.stdout, r.stderr
			}
			if !strings.Contains(out, tt.text) {
				t.Errorf("output does not mention %q:\n%s", tt.text, out)
			}
			if tt.text == "Usage" {
				for _, word := range []string{"pay serve", "pay invoke", ":3001"} {
					if !strings.Contains(out, word) {
						t.Errorf("usage does not mention %q:\n%s", word, out)
					}
				}
				if strings.Contains(other, "Usage") {
					t.Errorf("usage printed on both streams")
				}
			}
			checkNoSecrets(t, r.stdout, r.stderr)
		})
	}
}

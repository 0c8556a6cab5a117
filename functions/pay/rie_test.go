package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/internal/lambdarie"
	"stripetask/internal/stripemock"
)

// The tests in this file run the pay function's bootstrap, built as for
// Lambda, under aws-lambda-rie: the real Lambda Runtime API.

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// hungTimeout is the function timeout of the hung-dependency tests: the
// function must answer before it with its own response, whatever its
// length.
const hungTimeout = 6 * time.Second

// runRIE runs the pay bootstrap under RIE, with the template's limits, for
// the rest of the test.
func runRIE(t *testing.T, env map[string]string, timeout time.Duration) *lambdarie.Function {
	t.Helper()
	// The template's timeout (unless the test gives a shorter one) and
	// MemorySize: a peak RSS above it fails the test.
	c := lambdarie.TemplateLimits(t, "PayFunction").Apply(lambdarie.Config{Bootstrap: lambdarie.Build(t, "./functions/pay"), Env: env})
	if timeout != 0 {
		c.Timeout = timeout
	}
	return lambdarie.Run(t, c)
}

// readRequest decodes a payload 2.0 fixture of events/pay.
func readRequest(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fixturesDir, name))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(data, &e); err != nil || e.Version != "2.0" || e.RequestContext.RequestID == "" {
		t.Fatalf("%s: not a payload 2.0 event with a request id: %v", name, err)
	}
	return e
}

// invokeRIE sends e to f and returns the result and the function's HTTP
// response, which must be JSON, as must its body. It checks that neither
// reveals a secret.
func invokeRIE(t *testing.T, f *lambdarie.Function, e events.APIGatewayV2HTTPRequest) (lambdarie.Result, events.APIGatewayV2HTTPResponse, map[string]any) {
	t.Helper()
	r, res := invokeResponse(t, f, e)
	checkNoClientSecret(t, r.Output)
	if res.Headers["Content-Type"] != "application/json" {
		t.Errorf("Content-Type %q, want application/json", res.Headers["Content-Type"])
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(res.Body), &body); err != nil {
		t.Errorf("response body is not a JSON object: %v: %s", err, res.Body)
	}
	return r, res, body
}

// invokeResponse sends e to f through RIE and returns the result and the
// function's payload 2.0 response. It checks that RIE answered with the
// function's own answer and that neither reveals a secret.
func invokeResponse(t *testing.T, f *lambdarie.Function, e events.APIGatewayV2HTTPRequest) (lambdarie.Result, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	payload, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	r, err := f.Invoke(t.Context(), payload)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || strings.HasPrefix(string(r.Body), "Task timed out") {
		t.Fatalf("aws-lambda-rie answered %d %q after %v; output:\n%s", r.Status, r.Body, r.Duration, r.Output)
	}
	checkNoSecrets(t, string(r.Body), r.Output)
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(r.Body, &res); err != nil {
		t.Fatalf("answer is not a payload 2.0 response: %v: %s", err, r.Body)
	}
	return r, res
}

// oneRequestLine returns the invocation's one "request" log line.
func oneRequestLine(t *testing.T, r lambdarie.Result) map[string]any {
	t.Helper()
	lines := r.Messages(t, "request")
	if len(lines) != 1 {
		t.Fatalf("%d request log lines, want 1; output:\n%s", len(lines), r.Output)
	}
	return lines[0]
}

// TestRIERoutes sends requests through the Runtime API to one function,
// with stripe-mock as the Stripe API.
func TestRIERoutes(t *testing.T) {
	f := runRIE(t, baseEnv(stripemock.Start(t)), 0)
	tests := []struct {
		name    string
		fixture string
		modify  func(e *events.APIGatewayV2HTTPRequest)
		status  int
		field   string // a field the body must have
	}{
		{name: "health", fixture: "health.json", status: 200, field: "mode"},
		{name: "authenticated create", fixture: "customers.create.json", status: 201, field: "id"},
		{
			name: "missing bearer token", fixture: "customers.create.json", status: 401, field: "error",
			modify: func(e *events.APIGatewayV2HTTPRequest) { delete(e.Headers, "authorization") },
		},
		{
			name: "unknown route", fixture: "health.json", status: 404, field: "error",
			modify: func(e *events.APIGatewayV2HTTPRequest) {
				e.RawPath, e.RequestContext.HTTP.Path, e.RouteKey = "/nope", "/nope", "GET /nope"
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := readRequest(t, tt.fixture)
			if tt.modify != nil {
				tt.modify(&e)
			}
			r, res, body := invokeRIE(t, f, e)
			if _, ok := body[tt.field]; res.StatusCode != tt.status || !ok {
				t.Errorf("response %d %s, want %d with %q", res.StatusCode, res.Body, tt.status, tt.field)
			}
			if l := oneRequestLine(t, r); l["status"] != float64(tt.status) || l["request_id"] != e.RequestContext.RequestID {
				t.Errorf("request line %v, want status %d, request_id %s", l, tt.status, e.RequestContext.RequestID)
			}
		})
	}
}

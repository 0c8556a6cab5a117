package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
	"stripetask/internal/fixture"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// Secrets of the tests. None of them may ever appear in the function's
// output: every run checks that with checkNoSecrets.
const (
	localSecret = "whsec_stripetask_local_test_secret_0123456789" // Makefile LOCAL_WEBHOOK_SECRET
	otherSecret = "whsec_some_other_secret_not_the_fixtures_9876"
	basicUser   = "stripe"
	basicPass   = "pw-4b1d9e7c-basic-auth-secret"
)

// leakable lists every secret value a test configures, in the forms the
// function could conceivably print them.
var leakable = []string{
	localSecret,
	otherSecret,
	stripemock.Key,
	basicPass,
	base64.StdEncoding.EncodeToString([]byte(basicUser + ":" + basicPass)),
	base64.StdEncoding.EncodeToString([]byte(basicUser + ":wrong-password")),
}

// handledTypes are the event types handler.Handler has a method for.
var handledTypes = map[string]bool{
	"charge.succeeded":              true,
	"invoice.payment_failed":        true,
	"checkout.session.completed":    true,
	"customer.subscription.deleted": true,
}

// fixturesDir is the events/ directory of the repository.
const fixturesDir = "../../events"

// webhookMain runs the webhook function with the shipped Handler.
func webhookMain(ctx context.Context, p bootstrap.Process) int {
	return bootstrap.Webhook(ctx, handler.Handler{}, p)
}

// result is what one run of the function produced.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the webhook function as the binary does, with a fake process,
// and checks that its output reveals no secret.
func run(t *testing.T, env map[string]string, stdin io.Reader, args ...string) result {
	t.Helper()
	var stdout, stderr proctest.Buffer
	p := proctest.Process(env, args, &stdout, &stderr)
	if stdin != nil {
		p.Stdin = stdin
	}
	code := bootstrap.Webhook(t.Context(), handler.Handler{}, p)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	checkNoSecrets(t, r.stdout, r.stderr)
	return r
}

// checkNoSecrets fails the test if any configured secret appears in outs.
func checkNoSecrets(t *testing.T, outs ...string) {
	t.Helper()
	for i, out := range outs {
		for _, s := range leakable {
			if strings.Contains(out, s) {
				t.Errorf("output stream %d reveals the secret %q:\n%s", i, s, out)
			}
		}
	}
}

// baseEnv is the environment of a configured local function.
func baseEnv(apiBase string) map[string]string {
	return map[string]string{
		"STRIPE_WEBHOOK_SECRET": localSecret,
		"STRIPE_KEY":            stripemock.Key,
		"STRIPE_API_BASE":       apiBase,
	}
}

// fixtureFile is a Lambda event file of events/.
type fixtureFile struct {
	path      string
	v1        bool   // REST API (payload 1.0) rather than 2.0
	body      []byte // the Stripe event, base64-decoded if need be
	eventID   string
	eventType string
	requestID string // requestContext.requestId
}

// loadFixture reads and decodes a fixture file.
func loadFixture(t *testing.T, path string) fixtureFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var shape struct {
		Version         string `json:"version"`
		HTTPMethod      string `json:"httpMethod"`
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
		RequestContext  struct {
			RequestID string `json:"requestId"`
		} `json:"requestContext"`
	}
	if err := json.Unmarshal(data, &shape); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	f := fixtureFile{path: path, v1: shape.Version == "" && shape.HTTPMethod != "", requestID: shape.RequestContext.RequestID, body: []byte(shape.Body)}
	if shape.IsBase64Encoded {
		if f.body, err = base64.StdEncoding.DecodeString(shape.Body); err != nil {
			t.Fatalf("%s: body: %v", path, err)
		}
	}
	var ev struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(f.body, &ev); err != nil {
		t.Fatalf("%s: event: %v", path, err)
	}
	if ev.ID == "" || ev.Type == "" || f.requestID == "" {
		t.Fatalf("%s: id %q, type %q, requestId %q: want all set", path, ev.ID, ev.Type, f.requestID)
	}
	f.eventID, f.eventType = ev.ID, ev.Type
	return f
}

// fixturePaths lists every *.json file under events/, subdirectories
// included.
func fixturePaths(t *testing.T) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(fixturesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "pay" || d.Name() == "eventbridge") {
			return filepath.SkipDir // the pay function's, and EventBridge's (TestInvokeEventBridge): not HTTP deliveries
		}
		if !d.IsDir() && strings.HasSuffix(path, ".json") {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// 13 payload 2.0 fixtures, one REST API and one function URL fixture.
	if len(paths) < 15 {
		t.Fatalf("found %d fixtures under %s, want at least 15: %q", len(paths), fixturesDir, paths)
	}
	return paths
}

// response is a Lambda HTTP response of either payload format.
type response struct {
	StatusCode int
	Headers    map[string]string
	Body       string
}

// header returns the response header name, looked up case-insensitively.
func (r response) header(name string) string {
	for k, v := range r.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// parseResponse decodes the response `invoke` printed, in payload format
// 1.0 if v1, otherwise 2.0, refusing fields of neither.
func parseResponse(t *testing.T, out string, v1 bool) response {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r response
	var encoded bool
	if v1 {
		var res events.APIGatewayProxyResponse
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("stdout is not a payload 1.0 response: %v\n%s", err, out)
		}
		if len(res.MultiValueHeaders) > 0 {
			t.Errorf("unexpected multiValueHeaders %v", res.MultiValueHeaders)
		}
		r, encoded = response{res.StatusCode, res.Headers, res.Body}, res.IsBase64Encoded
	} else {
		var res events.APIGatewayV2HTTPResponse
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("stdout is not a payload 2.0 response: %v\n%s", err, out)
		}
		if len(res.Cookies) > 0 {
			t.Errorf("unexpected cookies %v", res.Cookies)
		}
		r, encoded = response{res.StatusCode, res.Headers, res.Body}, res.IsBase64Encoded
	}
	if dec.More() {
		t.Errorf("stdout holds more than one JSON value:\n%s", out)
	}
	if encoded {
		t.Errorf("response body is base64-encoded; want JSON text: %s", r.Body)
	}
	if ct := r.header("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return r
}

// bodyField returns the string field name of a JSON response body.
func bodyField(t *testing.T, body, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("response body is not a JSON object: %v: %q", err, body)
	}
	s, _ := m[name].(string)
	return s
}

// TestInvokeFixtures runs `invoke FILE` for every fixture: their stale
// signatures are renewed, so each is handled or ignored with a 200.
func TestInvokeFixtures(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	for _, path := range fixturePaths(t) {
		name, _ := filepath.Rel(fixturesDir, path)
		t.Run(filepath.ToSlash(name), func(t *testing.T) {
			t.Parallel()
			f := loadFixture(t, path)
			r := run(t, env, nil, "invoke", path)
			if r.code != 0 {
				t.Fatalf("exit code %d, want 0; stderr:\n%s", r.code, r.stderr)
			}
			res := parseResponse(t, r.stdout, f.v1)
			want := "ignored"
			if handledTypes[f.eventType] {
				want = "handled"
			}
			if res.StatusCode != http.StatusOK || bodyField(t, res.Body, "status") != want {
				t.Errorf("response %d %s, want 200 {\"status\":%q}; stderr:\n%s", res.StatusCode, res.Body, want, r.stderr)
			}
			dls := testlog.Messages(t, r.stderr, "delivery")
			if len(dls) != 1 {
				t.Fatalf("%d delivery log lines, want 1:\n%s", len(dls), r.stderr)
			}
			if dls[0]["outcome"] != want || dls[0]["event_id"] != f.eventID || dls[0]["request_id"] != f.requestID {
				t.Errorf("delivery log line %v, want outcome %s, event_id %s, request_id %s", dls[0], want, f.eventID, f.requestID)
			}
		})
	}
}

// event is a payload 2.0 event to modify; it keeps every field of the
// fixture.
type event = events.APIGatewayV2HTTPRequest

// readEvent decodes a payload 2.0 fixture.
func readEvent(t *testing.T, path string) event {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var e event
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	if e.Version != "2.0" || e.IsBase64Encoded || e.Headers["stripe-signature"] == "" {
		t.Fatalf("%s: want a payload 2.0 event with a plain body and a stripe-signature header", path)
	}
	return e
}

// setBody replaces the body and keeps the content-length header right.
func setBody(e *event, body []byte, base64Encoded bool) {
	e.Headers["content-length"] = strconv.Itoa(len(body))
	e.IsBase64Encoded = base64Encoded
	if base64Encoded {
		e.Body = base64.StdEncoding.EncodeToString(body)
	} else {
		e.Body = string(body)
	}
}

// renameHeaders changes the case of every header name.
func renameHeaders(e *event, rename func(string) string) {
	h := make(map[string]string, len(e.Headers))
	for k, v := range e.Headers {
		h[rename(k)] = v
	}
	e.Headers = h
}

// titleCase turns "stripe-signature" into "Stripe-Signature".
func titleCase(s string) string {
	parts := strings.Split(s, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// writeJSON writes v as JSON to a new file in dir and returns its path.
func writeJSON(t *testing.T, dir string, v any) string {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.CreateTemp(dir, "event-*.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestInvokeCases runs `invoke` on modified copies of a fixture.
func TestInvokeCases(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	src := filepath.Join(fixturesDir, "charge.succeeded.json")
	orig := readEvent(t, src)
	origBody := []byte(orig.Body)

	tests := []struct {
		name   string
		env    map[string]string
		modify func(t *testing.T, e *event)
		status int
		// status of the body for a 200, else a fragment of its error
		body   string
		header [2]string // a header the response must carry
	}{
		{name: "unmodified", env: env, status: 200, body: "handled"},
		{
			name: "tampered body", env: env, status: 400, body: "signature",
			modify: func(t *testing.T, e *event) {
				// Same length, so only the content differs.
				b := bytes.Replace(origBody, []byte(`"amount": 2900`), []byte(`"amount": 9900`), 1)
				if bytes.Equal(b, origBody) {
					t.Fatal("fixture has no \"amount\": 2900 to tamper with")
				}
				setBody(e, b, false)
			},
		},
		{
			name: "header names upper case", env: env, status: 200, body: "handled",
			modify: func(t *testing.T, e *event) { renameHeaders(e, strings.ToUpper) },
		},
		{
			name: "header names Title-Case", env: env, status: 200, body: "handled",
			modify: func(t *testing.T, e *event) { renameHeaders(e, titleCase) },
		},
		{
			name: "base64 body", env: env, status: 200, body: "handled",
			modify: func(t *testing.T, e *event) { setBody(e, origBody, true) },
		},
		{
			name: "stale signature, wrong secret configured", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", otherSecret),
			status: 400, body: "signature",
		},
		{
			name: "fresh signature, wrong secret configured", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", otherSecret),
			status: 400, body: "no valid signature",
			modify: func(t *testing.T, e *event) {
				e.Headers["stripe-signature"] = fixture.Sign(origBody, localSecret, time.Now())
			},
		},
		{
			name: "rotation: second of two secrets", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", otherSecret+", "+localSecret),
			status: 200, body: "handled",
		},
		{
			name: "no signature header", env: env, status: 400, body: "missing Stripe-Signature",
			modify: func(t *testing.T, e *event) { delete(e.Headers, "stripe-signature") },
		},
		{
			name: "no authentication configured", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", ""),
			status: 503, body: "not configured",
		},
		{
			name: "basic auth only", env: proctest.With(env, "STRIPE_WEBHOOK_SECRET", "", "BASIC_AUTH", basicUser+":"+basicPass),
			status: 200, body: "handled",
			modify: func(t *testing.T, e *event) { e.Headers["authorization"] = basicAuth(basicUser, basicPass) },
		},
		{
			name: "basic auth and signature", env: proctest.With(env, "BASIC_AUTH", basicUser+":"+basicPass),
			status: 200, body: "handled",
			modify: func(t *testing.T, e *event) { e.Headers["authorization"] = basicAuth(basicUser, basicPass) },
		},
		{
			name: "basic auth wrong password", env: proctest.With(env, "BASIC_AUTH", basicUser+":"+basicPass),
			status: 401, body: "unauthorized", header: [2]string{"WWW-Authenticate", "Basic"},
			modify: func(t *testing.T, e *event) { e.Headers["authorization"] = basicAuth(basicUser, "wrong-password") },
		},
		{
			name: "basic auth missing", env: proctest.With(env, "BASIC_AUTH", basicUser+":"+basicPass),
			status: 401, body: "unauthorized", header: [2]string{"WWW-Authenticate", "Basic"},
		},
		{
			name: "method GET", env: env, status: 405, body: "method not allowed", header: [2]string{"Allow", "POST"},
			modify: func(t *testing.T, e *event) { e.RequestContext.HTTP.Method = http.MethodGet },
		},
		{
			name: "2 MiB body", env: env, status: 413, body: "1 MiB",
			modify: func(t *testing.T, e *event) {
				// A genuinely signed event, too large whatever its signature.
				b := bytes.Clone(bytes.TrimSuffix(bytes.TrimSpace(origBody), []byte("}")))
				b = append(b, `,"padding":"`...)
				b = append(b, bytes.Repeat([]byte("x"), 2<<20)...)
				b = append(b, `"}`...)
				if !json.Valid(b) {
					t.Fatal("padded body is not JSON")
				}
				setBody(e, b, false)
				e.Headers["stripe-signature"] = fixture.Sign(b, localSecret, time.Now())
			},
		},
		{
			name: "invalid base64 body", env: env, status: 400, body: "base64",
			modify: func(t *testing.T, e *event) { e.Body, e.IsBase64Encoded = "*** not base64 ***", true },
		},
		{
			name: "body not an event", env: env, status: 400, body: "not valid JSON",
			modify: func(t *testing.T, e *event) {
				b := []byte("not json")
				setBody(e, b, false)
				e.Headers["stripe-signature"] = fixture.Sign(b, localSecret, time.Now())
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := readEvent(t, src)
			if tt.modify != nil {
				tt.modify(t, &e)
			}
			path := writeJSON(t, t.TempDir(), e)
			r := run(t, tt.env, nil, "invoke", path)
			if r.code != 0 {
				t.Fatalf("exit code %d, want 0 (an error status is still a successful invocation); stderr:\n%s", r.code, r.stderr)
			}
			res := parseResponse(t, r.stdout, false)
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %s; stderr:\n%s", res.StatusCode, tt.status, res.Body, r.stderr)
			}
			if tt.status == 200 {
				if got := bodyField(t, res.Body, "status"); got != tt.body {
					t.Errorf("body status %q, want %q", got, tt.body)
				}
			} else if got := bodyField(t, res.Body, "error"); !strings.Contains(got, tt.body) {
				t.Errorf("body error %q, want it to contain %q", got, tt.body)
			}
			if name, want := tt.header[0], tt.header[1]; name != "" && !strings.Contains(res.header(name), want) {
				t.Errorf("response header %s = %q, want it to contain %q; headers %v", name, res.header(name), want, res.Headers)
			}
		})
	}
}

// TestInvokeFailures checks the invocations that fail outright.
func TestInvokeFailures(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	env := baseEnv("http://127.0.0.1:1") // never reached
	tests := []struct {
		name   string
		args   []string
		stdin  io.Reader
		code   int
		stderr string
	}{
		{name: "missing file", args: []string{"invoke", filepath.Join(dir, "missing.json")}, code: 1, stderr: "missing.json"},
		{name: "directory", args: []string{"invoke", dir}, code: 1, stderr: "is a directory"},
		{name: "not an API Gateway event", args: []string{"invoke", write("s3.json", `{"Records":[{"eventSource":"aws:s3"}]}`)}, code: 1, stderr: "unrecognised Lambda event"},
		{name: "not JSON", args: []string{"invoke", write("garbage.json", "{{")}, code: 1, stderr: "decoding Lambda event"},
		{name: "empty stdin", args: []string{"invoke", "-"}, stdin: strings.NewReader(""), code: 1, stderr: "invoke"},
		{name: "no FILE", args: []string{"invoke"}, code: 2, stderr: "usage"},
		{name: "two FILEs", args: []string{"invoke", "a.json", "b.json"}, code: 2, stderr: "usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, env, tt.stdin, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d", r.code, tt.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing", r.stdout)
			}
			if !strings.Contains(r.stderr, tt.stderr) {
				t.Errorf("stderr does not mention %q:\n%s", tt.stderr, r.stderr)
			}
		})
	}
}

// TestInvokeStdin runs `invoke -` with the fixture on standard input.
func TestInvokeStdin(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	data, err := os.ReadFile(filepath.Join(fixturesDir, "charge.succeeded.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, env, bytes.NewReader(data), "invoke", "-")
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	res := parseResponse(t, r.stdout, false)
	if res.StatusCode != 200 || bodyField(t, res.Body, "status") != "handled" {
		t.Errorf("response %d %s, want 200 handled", res.StatusCode, res.Body)
	}
}

// TestDeliveryLog checks the one log line of a delivery.
func TestDeliveryLog(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	f := loadFixture(t, filepath.Join(fixturesDir, "charge.succeeded.json"))
	r := run(t, env, nil, "invoke", f.path)
	if r.code != 0 {
		t.Fatalf("exit code %d; stderr:\n%s", r.code, r.stderr)
	}
	dls := testlog.Messages(t, r.stderr, "delivery")
	if len(dls) != 1 {
		t.Fatalf("%d delivery lines, want exactly 1:\n%s", len(dls), r.stderr)
	}
	line := dls[0]
	want := map[string]any{
		"level":      "INFO",
		"request_id": f.requestID,
		"event_id":   f.eventID,
		"event_type": "charge.succeeded",
		"outcome":    "handled",
		"status":     float64(200),
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("delivery line %s = %#v, want %#v", k, line[k], v)
		}
	}
	if d, ok := line["duration_ms"].(float64); !ok || d < 0 || d > 30000 {
		t.Errorf("delivery line duration_ms = %#v, want a number of milliseconds", line["duration_ms"])
	}
	if _, ok := line["error"]; ok {
		t.Errorf("a handled delivery logs an error: %v", line["error"])
	}
}

// TestServe runs `serve` on a loopback port and sends it real requests.
func TestServe(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	srv := proctest.Serve(t, webhookMain, env)
	base := srv.URL

	body := func(name string) []byte {
		return loadFixture(t, filepath.Join(fixturesDir, name+".json")).body
	}
	signed := func(b []byte) http.Header {
		return http.Header{"Stripe-Signature": {fixture.Sign(b, localSecret, time.Now())}, "Content-Type": {"application/json"}}
	}
	charge, session, customer := body("charge.succeeded"), body("checkout.session.completed"), body("customer.created")

	tests := []struct {
		name, method, path string
		body               []byte
		header             http.Header
		status             int
		want               string // the whole body, or a fragment of an error
	}{
		{"charge.succeeded", http.MethodPost, "/webhook", charge, signed(charge), 200, `{"status":"handled"}` + "\n"},
		{"checkout.session.completed via stripe-mock", http.MethodPost, "/webhook", session, signed(session), 200, `{"status":"handled"}` + "\n"},
		{"customer.created ignored", http.MethodPost, "/webhook", customer, signed(customer), 200, `{"status":"ignored"}` + "\n"},
		{"stale signature", http.MethodPost, "/webhook", charge, http.Header{"Stripe-Signature": {fixture.Sign(charge, localSecret, time.Now().Add(-time.Hour))}}, 400, "tolerance"},
		{"unsigned", http.MethodPost, "/webhook", charge, nil, 400, "missing Stripe-Signature"},
		{"GET", http.MethodGet, "/webhook", nil, nil, 405, "method not allowed"},
		{"other path", http.MethodPost, "/other", charge, signed(charge), 404, "not found"},
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, base+tt.path, bytes.NewReader(tt.body))
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
			got, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.status {
				t.Errorf("status %d, want %d; body %s", res.StatusCode, tt.status, got)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.status == 200 {
				if string(got) != tt.want {
					t.Errorf("body %q, want %q", got, tt.want)
				}
			} else if msg := bodyField(t, string(got), "error"); !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want it to contain %q", msg, tt.want)
			}
		})
	}

	if code := srv.Stop(); code != 0 {
		t.Errorf("serve returned %d after cancellation, want 0; stderr:\n%s", code, srv.Stderr)
	}
	// One delivery line per request that reached the handler (not /other).
	if n := len(srv.Stderr.Messages(t, "delivery")); n != len(tests)-1 {
		t.Errorf("%d delivery log lines, want %d:\n%s", n, len(tests)-1, srv.Stderr)
	}
	checkNoSecrets(t, srv.Stdout.String(), srv.Stderr.String())
}

// TestUsage checks the command line without a mode.
func TestUsage(t *testing.T) {
	env := baseEnv("http://127.0.0.1:1")
	tests := []struct {
		name string
		args []string
		code int
		// where the usage text goes
		stdout bool
	}{
		{name: "no arguments", args: nil, code: 2},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2},
		{name: "help", args: []string{"help"}, code: 0, stdout: true},
		{name: "-h", args: []string{"-h"}, code: 0, stdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, env, nil, tt.args...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d", r.code, tt.code)
			}
			usage, other := r.stderr, r.stdout
			if tt.stdout {
				usage, other = r.stdout, r.stderr
			}
			for _, word := range []string{"Usage", "serve", "invoke", "/webhook"} {
				if !strings.Contains(usage, word) {
					t.Errorf("usage text does not mention %q:\n%s", word, usage)
				}
			}
			if strings.Contains(other, "Usage") {
				t.Errorf("usage printed on both streams:\n%s", other)
			}
		})
	}
}

// TestSettings checks the settings read from the environment.
func TestSettings(t *testing.T) {
	env := baseEnv(stripemock.Start(t))
	chargeFile := filepath.Join(fixturesDir, "charge.succeeded.json")
	tests := []struct {
		name, key, value string
		code             int
		stderr           string // for failures: a fragment of the message
		deliveryLines    int    // for successes
	}{
		{name: "tolerance not a duration", key: "SIGNATURE_TOLERANCE", value: "abc", code: 1, stderr: "SIGNATURE_TOLERANCE"},
		{name: "tolerance negative", key: "SIGNATURE_TOLERANCE", value: "-5s", code: 1, stderr: "SIGNATURE_TOLERANCE"},
		{name: "tolerance zero", key: "SIGNATURE_TOLERANCE", value: "0", code: 1, stderr: "SIGNATURE_TOLERANCE"},
		{name: "strict not a bool", key: "STRICT_API_VERSION", value: "maybe", code: 1, stderr: "STRICT_API_VERSION"},
		{name: "log level unknown", key: "LOG_LEVEL", value: "loud", code: 1, stderr: "LOG_LEVEL"},
		{name: "lambda log level unknown", key: "AWS_LAMBDA_LOG_LEVEL", value: "loud", code: 1, stderr: "LOG_LEVEL"},
		{name: "tolerance in seconds", key: "SIGNATURE_TOLERANCE", value: "600", code: 0, deliveryLines: 1},
		{name: "tolerance duration", key: "SIGNATURE_TOLERANCE", value: "2m", code: 0, deliveryLines: 1},
		{name: "strict API version", key: "STRICT_API_VERSION", value: "true", code: 0, deliveryLines: 1},
		{name: "log level error", key: "LOG_LEVEL", value: "error", code: 0, deliveryLines: 0},
		{name: "lambda log level debug", key: "AWS_LAMBDA_LOG_LEVEL", value: "DEBUG", code: 0, deliveryLines: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := run(t, proctest.With(env, tt.key, tt.value), nil, "invoke", chargeFile)
			if r.code != tt.code {
				t.Fatalf("exit code %d, want %d; stderr:\n%s", r.code, tt.code, r.stderr)
			}
			if tt.code != 0 {
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing", r.stdout)
				}
				if !strings.Contains(r.stderr, tt.stderr) || !strings.Contains(r.stderr, tt.value) {
					t.Errorf("stderr does not name %s=%s:\n%s", tt.stderr, tt.value, r.stderr)
				}
				return
			}
			res := parseResponse(t, r.stdout, false)
			if res.StatusCode != 200 {
				t.Errorf("status %d, want 200: %s", res.StatusCode, res.Body)
			}
			if n := len(testlog.Messages(t, r.stderr, "delivery")); n != tt.deliveryLines {
				t.Errorf("%d delivery log lines, want %d:\n%s", n, tt.deliveryLines, r.stderr)
			}
		})
	}
}

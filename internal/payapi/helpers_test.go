package payapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

// Secrets of the tests. None may appear in a log line or a response; the
// client secrets Stripe returns may appear in the client_secret field only.
const (
	testAPIKey = "pay_test_key_7d3f0a9c5e1b4862"
	testPK     = "pk_test_51PayPublishableKey0123456789"
	stubKey    = "sk_test_51StubSecretKey9f8e7d6c5b4a" // STRIPE_KEY with stub backends
	testRID    = "rid-0123456789abcdef"
	shopOrigin = "https://shop.example"
)

// testSecrets returns the secrets of a configured API whose Stripe calls go
// to base, with the given changes (name, value pairs; "" deletes).
func testSecrets(base, key string, kv ...string) secrets.Map {
	m := secrets.Map{
		stripeclient.KeySecret:     key,
		stripeclient.APIBaseSecret: base,
		APIKeySecret:               testAPIKey,
		PublishableKeySecret:       testPK,
		AllowedOriginsSecret:       shopOrigin + ", https://www.shop.example",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// testAPI is a Handler under test with its log.
type testAPI struct {
	t      *testing.T
	h      *Handler
	log    *testlog.Buffer
	leaks  []string // values that must appear in no log and no response
	leakMu sync.Mutex
}

// newAPI returns a Handler reading src, logging at debug level.
func newAPI(t *testing.T, src secrets.Source) *testAPI {
	t.Helper()
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := New(Config{Deps: function.Deps{
		Secrets:   src,
		Log:       log,
		Stripe:    stripeclient.NewCache(nil, log),
		RequestID: func(context.Context) string { return testRID },
	}})
	a := &testAPI{t: t, h: h, log: buf, leaks: []string{testAPIKey, stubKey, stripemock.Key}}
	t.Cleanup(func() { a.checkNoLeaks(a.log.String()) })
	return a
}

// newMockAPI returns an API whose Stripe calls go to a real stripe-mock,
// through a recording proxy.
func newMockAPI(t *testing.T, kv ...string) (*testAPI, *stripeBackend) {
	t.Helper()
	be := newStripeProxy(t, stripemock.Start(t))
	return newAPI(t, secrets.Static(testSecrets(be.URL, stripemock.Key, kv...))), be
}

// newStubAPI returns an API whose Stripe calls go to a stub serving fn.
func newStubAPI(t *testing.T, fn http.HandlerFunc, kv ...string) (*testAPI, *stripeBackend) {
	t.Helper()
	be := newStripeStub(t, fn)
	return newAPI(t, secrets.Static(testSecrets(be.URL, stubKey, kv...))), be
}

// response is an answer of the API, with its log line.
type response struct {
	code   int
	header http.Header
	body   string
	json   map[string]any // the decoded body; nil for an empty one
	line   map[string]any // the "request" log line
}

// str returns the string field name of the JSON body.
func (r *response) str(name string) string {
	s, _ := r.json[name].(string)
	return s
}

// num returns the number field name of the JSON body.
func (r *response) num(name string) float64 {
	n, _ := r.json[name].(float64)
	return n
}

// do sends a request built by newRequest through the handler, see serve.
func (a *testAPI) do(method, target, body string, hdr ...string) *response {
	a.t.Helper()
	return a.serve(newRequest(a.t, method, target, body, hdr...))
}

// newRequest returns a request with the bearer token and, when there is a
// body, a JSON Content-Type. hdr holds name, value pairs: the first pair of
// a name replaces the defaults, later pairs add values, and "" removes the
// header.
func newRequest(t *testing.T, method, target, body string, hdr ...string) *http.Request {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, strings.NewReader(body))
	if body == "" {
		r.Body, r.ContentLength = http.NoBody, 0
	}
	r.Header.Set("Authorization", "Bearer "+testAPIKey)
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(hdr); i += 2 {
		k, v := hdr[i], hdr[i+1]
		switch {
		case v == "":
			r.Header.Del(k)
		case seen[k]:
			r.Header.Add(k, v)
		default:
			r.Header.Set(k, v)
		}
		seen[k] = true
	}
	return r
}

// serve runs r through the handler and checks its log line and leaks.
func (a *testAPI) serve(r *http.Request) *response {
	a.t.Helper()
	before := len(a.log.String())
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	res := &response{code: w.Code, header: w.Header(), body: w.Body.String()}
	if res.body != "" {
		if err := json.Unmarshal([]byte(res.body), &res.json); err != nil {
			a.t.Fatalf("%s %s: body is not a JSON object: %v: %q", r.Method, r.URL, err, res.body)
		}
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			a.t.Errorf("%s %s: Content-Type %q, want application/json", r.Method, r.URL, ct)
		}
	}
	logged := a.log.String()[before:]
	lines := testlog.Messages(a.t, logged, "request")
	if len(lines) != 1 {
		a.t.Fatalf("%s %s: %d request log lines, want 1:\n%s", r.Method, r.URL, len(lines), logged)
	}
	res.line = lines[0]
	if got := res.line["status"]; got != float64(res.code) {
		a.t.Errorf("log line status %v, response %d", got, res.code)
	}
	if cs := res.str("client_secret"); cs != "" {
		a.leakMu.Lock()
		a.leaks = append(a.leaks, cs)
		a.leakMu.Unlock()
		rest := strings.Replace(res.body, cs, "", 1)
		if strings.Contains(rest, cs) || strings.Contains(rest, "_secret_") {
			a.t.Errorf("client secret appears outside client_secret: %s", res.body)
		}
		res.body = rest
	}
	a.checkNoLeaks(logged, res.body)
	return res
}

// checkNoLeaks fails the test if a secret value appears in outs.
func (a *testAPI) checkNoLeaks(outs ...string) {
	a.t.Helper()
	a.leakMu.Lock()
	defer a.leakMu.Unlock()
	for _, out := range outs {
		for _, s := range a.leaks {
			if strings.Contains(out, s) {
				a.t.Errorf("secret %q revealed in:\n%s", s, out)
			}
		}
	}
}

// stripeCall is a request stripe-go sent.
type stripeCall struct {
	Method, Path   string
	Form           url.Values // the query of a GET or DELETE, the body of a POST
	IdempotencyKey string
}

// stripeBackend is an HTTP server standing in for api.stripe.com on
// 127.0.0.1 that records every request.
type stripeBackend struct {
	URL   string
	srv   *httptest.Server
	mu    sync.Mutex
	calls []stripeCall
}

// Calls returns the requests received so far.
func (b *stripeBackend) Calls() []stripeCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]stripeCall(nil), b.calls...)
}

// newStripeStub returns a backend that answers with fn.
func newStripeStub(t *testing.T, fn http.HandlerFunc) *stripeBackend {
	t.Helper()
	b := &stripeBackend{}
	b.srv = httptest.NewServer(b.record(t, fn)) // listens on 127.0.0.1
	b.URL = b.srv.URL
	t.Cleanup(b.srv.Close)
	return b
}

// newStripeProxy returns a backend that passes every request on to target
// (a stripe-mock), to see what stripe-go sent.
func newStripeProxy(t *testing.T, target string) *stripeBackend {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return newStripeStub(t, httputil.NewSingleHostReverseProxy(u).ServeHTTP)
}

// record wraps next to record each request.
func (b *stripeBackend) record(t *testing.T, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("stripe backend: reading body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		form := r.URL.Query()
		if r.Method == http.MethodPost {
			if form, err = url.ParseQuery(string(body)); err != nil {
				t.Errorf("stripe backend: body is not a form: %v", err)
			}
		}
		b.mu.Lock()
		b.calls = append(b.calls, stripeCall{Method: r.Method, Path: r.URL.Path, Form: form, IdempotencyKey: r.Header.Get("Idempotency-Key")})
		b.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// stubJSON answers with status and the JSON body, with a Request-Id as
// Stripe sends it.
func stubJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_stub0123456789")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// noStripe is a stub for tests that must not reach Stripe.
func noStripe(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("unexpected Stripe call %s %s", r.Method, r.URL.Path)
		stubJSON(500, `{"error":{"type":"api_error","message":"unexpected"}}`)(w, r)
	}
}

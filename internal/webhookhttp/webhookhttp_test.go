package webhookhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/pipeline"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

const (
	whsecOld  = "whsec_old_0123456789abcdef"
	whsecNew  = "whsec_new_fedcba9876543210"
	basic     = "stripe:s3cr3t-pass"
	stripeKey = "sk_test_123"
)

// testHandler's methods act on the charge's description.
type testHandler struct {
	dispatch.Env
	ran   *atomic.Int32
	inits *atomic.Int32
}

func (h *testHandler) Init(ctx context.Context) error {
	h.inits.Add(1)
	if h.Secrets["INIT_FAILS"] == "yes" {
		return errors.New("cannot connect to the warehouse")
	}
	return nil
}

func (h *testHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.ran.Add(1)
	switch c.Description {
	case "fail":
		return fmt.Errorf("warehouse said no to %s with key %s", c.ID, h.Secrets["STRIPE_KEY"])
	case "panic":
		panic("handler bug " + h.Secrets["STRIPE_KEY"])
	}
	return nil
}

var clock = time.Unix(1_750_000_000, 0)

// testbed is one delivery handler with its captured log.
type testbed struct {
	h     *Handler
	log   *testlog.Buffer
	ran   *atomic.Int32
	inits *atomic.Int32
	src   *switchable
}

// switchable is a secrets.Source whose content and failure tests change. It
// is a fake: the environment source cannot fail, and the Secrets Manager
// source has its own tests against a real server.
type switchable struct {
	mu  sync.Mutex
	m   secrets.Map
	err error
}

func (s *switchable) Load(context.Context) (secrets.Map, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, s.err
}

func newFixture(t *testing.T, m secrets.Map, opts ...dispatch.Option) *testbed {
	t.Helper()
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ran := &atomic.Int32{}
	inits := &atomic.Int32{}
	d, err := dispatch.New(testHandler{ran: ran, inits: inits}, append(opts, dispatch.WithLogger(log))...)
	if err != nil {
		t.Fatal(err)
	}
	src := &switchable{m: m}
	h := newHandler(function.Deps{
		Secrets:   src,
		Log:       log,
		Now:       func() time.Time { return clock },
		RequestID: func(context.Context) string { return "req-test-1" },
	}, d, nil)
	return &testbed{h: h, log: buf, ran: ran, inits: inits, src: src}
}

func chargeEvent(description string) []byte {
	return []byte(`{"id":"evt_1","object":"event","api_version":"` + stripe.APIVersion + `","created":1750000000,"type":"charge.succeeded","data":{"object":{"id":"ch_1","object":"charge","amount":500,"description":"` + description + `"}}}`)
}

func (f *testbed) do(method string, body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/webhook", bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func signed(body []byte, secret string, at time.Time) http.Header {
	return http.Header{"Stripe-Signature": {fixture.Sign(body, secret, at)}}
}

func TestStatusCodes(t *testing.T) {
	ok := chargeEvent("ok")
	whsecOnly := secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld, "STRIPE_KEY": stripeKey}
	tests := []struct {
		name    string
		secrets secrets.Map
		method  string
		body    []byte
		header  http.Header
		status  int
		body2   string // substring of the response body
		ran     int32
		outcome string
	}{
		{"handled", whsecOnly, "POST", ok, signed(ok, whsecOld, clock), 200, `{"status":"handled"}`, 1, "handled"},
		{"ignored", whsecOnly, "POST", []byte(`{"id":"evt_2","object":"event","type":"payout.paid","data":{"object":{"id":"po_1"}}}`), nil, 200, `{"status":"ignored"}`, 0, "ignored"},
		{"GET", whsecOnly, "GET", nil, nil, 405, "method not allowed", 0, "method_not_allowed"},
		{"no auth configured", secrets.Map{"STRIPE_KEY": stripeKey}, "POST", ok, signed(ok, whsecOld, clock), 503, "not configured", 0, "auth_not_configured"},
		{"missing signature", whsecOnly, "POST", ok, nil, 400, "missing Stripe-Signature", 0, "bad_signature"},
		{"garbled signature header", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {"garbage"}}, 400, "malformed Stripe-Signature", 0, "bad_signature"},
		{"bad timestamp", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {"t=soon,v1=00"}}, 400, "malformed Stripe-Signature", 0, "bad_signature"},
		{"bad hex", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {fmt.Sprintf("t=%d,v1=zz", clock.Unix())}}, 400, "no valid signature", 0, "bad_signature"},
		{"no timestamp", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {strings.Split(fixture.Sign(ok, whsecOld, clock), ",")[1]}}, 400, "malformed Stripe-Signature", 0, "bad_signature"},
		{"double equals", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {"t=1=2," + strings.Split(fixture.Sign(ok, whsecOld, clock), ",")[1]}}, 400, "malformed Stripe-Signature", 0, "bad_signature"},
		{"valid among junk and v0", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {fmt.Sprintf("t=%d,v0=abc,v1=%064x,v1=zz,%s", clock.Unix(), 7, strings.Split(fixture.Sign(ok, whsecOld, clock), ",")[1])}}, 200, "handled", 1, "handled"},
		{"wrong secret", whsecOnly, "POST", ok, signed(ok, "whsec_attacker", clock), 400, "no valid signature", 0, "bad_signature"},
		{"tampered body", whsecOnly, "POST", chargeEvent("tampered"), signed(ok, whsecOld, clock), 400, "no valid signature", 0, "bad_signature"},
		{"expired", whsecOnly, "POST", ok, signed(ok, whsecOld, clock.Add(-301*time.Second)), 400, "outside the tolerance", 0, "bad_signature"},
		{"just in time", whsecOnly, "POST", ok, signed(ok, whsecOld, clock.Add(-299*time.Second)), 200, "handled", 1, "handled"},
		{"future", whsecOnly, "POST", ok, signed(ok, whsecOld, clock.Add(301*time.Second)), 400, "outside the tolerance", 0, "bad_signature"},
		{"slightly future", whsecOnly, "POST", ok, signed(ok, whsecOld, clock.Add(10*time.Second)), 200, "handled", 1, "handled"},
		{"malformed JSON", whsecOnly, "POST", []byte(`{"id":`), signed([]byte(`{"id":`), whsecOld, clock), 400, "not valid JSON", 0, "malformed"},
		{"not an event", whsecOnly, "POST", []byte(`{"hello":"world"}`), signed([]byte(`{"hello":"world"}`), whsecOld, clock), 400, "not a Stripe event", 0, "not_event"},
		{"object does not decode", whsecOnly, "POST", []byte(`{"id":"evt_3","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1","amount":"x"}}}`), nil, 400, "does not match the handler's type", 0, "undecodable_object"},
		{"handler error", whsecOnly, "POST", chargeEvent("fail"), signed(chargeEvent("fail"), whsecOld, clock), 500, "handler failed", 1, "handler_error"},
		{"handler panic", whsecOnly, "POST", chargeEvent("panic"), signed(chargeEvent("panic"), whsecOld, clock), 500, "handler failed", 1, "handler_panic"},
		{"basic ok", secrets.Map{"BASIC_AUTH": basic}, "POST", ok, http.Header{"Authorization": {basicHeader(basic)}}, 200, "handled", 1, "handled"},
		{"basic wrong", secrets.Map{"BASIC_AUTH": basic}, "POST", ok, http.Header{"Authorization": {basicHeader("stripe:guess")}}, 401, "unauthorized", 0, "unauthorized"},
		{"basic missing", secrets.Map{"BASIC_AUTH": basic}, "POST", ok, nil, 401, "unauthorized", 0, "unauthorized"},
		{"basic prefix", secrets.Map{"BASIC_AUTH": basic}, "POST", ok, http.Header{"Authorization": {basicHeader("stripe:s3cr3t")}}, 401, "unauthorized", 0, "unauthorized"},
		{"both, both right", secrets.Map{"BASIC_AUTH": basic, "STRIPE_WEBHOOK_SECRET": whsecOld}, "POST", ok, merge(signed(ok, whsecOld, clock), http.Header{"Authorization": {basicHeader(basic)}}), 200, "handled", 1, "handled"},
		{"both, basic missing", secrets.Map{"BASIC_AUTH": basic, "STRIPE_WEBHOOK_SECRET": whsecOld}, "POST", ok, signed(ok, whsecOld, clock), 401, "unauthorized", 0, "unauthorized"},
		{"both, signature missing", secrets.Map{"BASIC_AUTH": basic, "STRIPE_WEBHOOK_SECRET": whsecOld}, "POST", ok, http.Header{"Authorization": {basicHeader(basic)}}, 400, "missing Stripe-Signature", 0, "bad_signature"},
		{"rotation: second secret", secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecNew + "," + whsecOld}, "POST", ok, signed(ok, whsecOld, clock), 200, "handled", 1, "handled"},
		{"rotation: two v1 signatures", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {twoSigs(ok, whsecNew, whsecOld)}}, 200, "handled", 1, "handled"},
		{"valid signature after 12 others", whsecOnly, "POST", ok, http.Header{"Stripe-Signature": {manySigs(ok, 12)}}, 200, "handled", 1, "handled"},
		{"basic auth of empty parts", secrets.Map{"BASIC_AUTH": ":"}, "POST", ok, http.Header{"Authorization": {basicHeader(":")}}, 503, "not configured", 0, "auth_not_configured"},
		{"basic auth without password", secrets.Map{"BASIC_AUTH": "stripe:", "STRIPE_WEBHOOK_SECRET": whsecOld}, "POST", ok, merge(signed(ok, whsecOld, clock), http.Header{"Authorization": {basicHeader("stripe:")}}), 503, "not configured", 0, "auth_not_configured"},
		{"basic auth without colon", secrets.Map{"BASIC_AUTH": "stripe"}, "POST", ok, nil, 503, "not configured", 0, "auth_not_configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.secrets)
			header := tt.header
			if header == nil && tt.body != nil && tt.status != 400 && tt.secrets["STRIPE_WEBHOOK_SECRET"] != "" {
				header = signed(tt.body, whsecOld, clock)
			}
			if tt.name == "object does not decode" {
				header = signed(tt.body, whsecOld, clock)
			}
			w := f.do(tt.method, tt.body, header)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Body.String(), tt.body2) {
				t.Errorf("body %q lacks %q", w.Body, tt.body2)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !json.Valid(w.Body.Bytes()) {
				t.Errorf("body is not JSON: %s", w.Body)
			}
			if got := f.ran.Load(); got != tt.ran {
				t.Errorf("handler ran %d times, want %d", got, tt.ran)
			}
			switch w.Code {
			case 401:
				if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic ") {
					t.Errorf("401 without Basic challenge: %q", got)
				}
			case 405:
				if got := w.Header().Get("Allow"); got != "POST" {
					t.Errorf("405 with Allow %q", got)
				}
			}
			line := lastLine(t, f.log)
			if line["msg"] != "delivery" || line["outcome"] != tt.outcome || line["status"] != float64(tt.status) || line["request_id"] != "req-test-1" {
				t.Errorf("log line %v, want outcome %s status %d", line, tt.outcome, tt.status)
			}
			if _, ok := line["duration_ms"]; !ok {
				t.Errorf("log line has no duration: %v", line)
			}
			if tt.ran > 0 && (line["event_id"] != "evt_1" || line["event_type"] != "charge.succeeded" || line["method"] != "ChargeSucceeded") {
				t.Errorf("log line lacks the event: %v", line)
			}
			noSecrets(t, tt.secrets, w.Body.String(), f.log.String())
		})
	}
}

func TestPanicStackIsLoggedNotAnswered(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld, "STRIPE_KEY": stripeKey})
	body := chargeEvent("panic")
	w := f.do("POST", body, signed(body, whsecOld, clock))
	if w.Code != 500 || strings.Contains(w.Body.String(), "goroutine") || strings.Contains(w.Body.String(), "handler bug") {
		t.Fatalf("response %d %s", w.Code, w.Body)
	}
	line := lastLine(t, f.log)
	if stack, _ := line["stack"].(string); !strings.Contains(stack, "ChargeSucceeded") || line["level"] != "ERROR" {
		t.Fatalf("log line has no stack or wrong level: %v", line)
	}
	if e, _ := line["error"].(string); !strings.Contains(e, "handler bug [STRIPE_KEY]") {
		t.Fatalf("panic value not logged with the key redacted: %q", e)
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld})
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	if w := f.do("POST", big, signed(big, whsecOld, clock)); w.Code != 413 {
		t.Fatalf("with Content-Length: status %d", w.Code)
	}
	// Without a Content-Length the limit is enforced while reading.
	r := httptest.NewRequest("POST", "/webhook", io.MultiReader(bytes.NewReader(big)))
	r.ContentLength = -1
	r.Header = signed(big, whsecOld, clock)
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 413 {
		t.Fatalf("chunked: status %d", w.Code)
	}
	// Exactly the limit is accepted as far as size goes (then refused as JSON).
	exact := append(chargeEvent("ok"), bytes.Repeat([]byte(" "), MaxBodyBytes-len(chargeEvent("ok")))...)
	if w := f.do("POST", exact, signed(exact, whsecOld, clock)); w.Code != 200 {
		t.Fatalf("body of exactly 1 MiB: status %d %s", w.Code, w.Body)
	}
}

func TestSecretsUnavailableThenRecover(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld})
	f.src.err = fmt.Errorf("%w: secret prod/stripe: AccessDeniedException", secrets.ErrUnavailable)
	body := chargeEvent("ok")
	if w := f.do("POST", body, signed(body, whsecOld, clock)); w.Code != 503 || !strings.Contains(w.Body.String(), "secrets unavailable") {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if line := lastLine(t, f.log); line["level"] != "ERROR" || !strings.Contains(line["error"].(string), "AccessDenied") {
		t.Fatalf("log %v", line)
	}
	f.src.err = nil
	if w := f.do("POST", body, signed(body, whsecOld, clock)); w.Code != 200 {
		t.Fatalf("after recovery: status %d %s", w.Code, w.Body)
	}
}

func TestInitFailureIsRetried(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld, "INIT_FAILS": "yes"})
	body := chargeEvent("ok")
	if w := f.do("POST", body, signed(body, whsecOld, clock)); w.Code != 503 || !strings.Contains(w.Body.String(), "initialisation failed") {
		t.Fatalf("status %d %s", w.Code, w.Body)
	}
	if f.ran.Load() != 0 {
		t.Fatal("dispatched before Init succeeded")
	}
	f.src.m = secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld}
	if w := f.do("POST", body, signed(body, whsecOld, clock)); w.Code != 200 {
		t.Fatalf("after Init succeeds: status %d %s", w.Code, w.Body)
	}
}

func TestStrictAPIVersion(t *testing.T) {
	body := []byte(`{"id":"evt_1","object":"event","api_version":"2020-08-27","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`)
	lenient := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld})
	if w := lenient.do("POST", body, signed(body, whsecOld, clock)); w.Code != 200 {
		t.Fatalf("lenient: %d %s", w.Code, w.Body)
	}
	if !strings.Contains(lenient.log.String(), `"event_api_version":"2020-08-27"`) {
		t.Fatalf("no version warning: %s", lenient.log)
	}
	strict := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld}, dispatch.StrictAPIVersion(true))
	w := strict.do("POST", body, signed(body, whsecOld, clock))
	if w.Code != 400 || !strings.Contains(w.Body.String(), "API version") || strict.ran.Load() != 0 {
		t.Fatalf("strict: %d %s", w.Code, w.Body)
	}
	if line := lastLine(t, strict.log); line["event_id"] != "evt_1" || line["outcome"] != "api_version_mismatch" {
		t.Fatalf("log %v", line)
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld})
	body := chargeEvent("ok")
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if w := f.do("POST", body, signed(body, whsecOld, clock)); w.Code != 200 {
				t.Errorf("status %d", w.Code)
			}
		})
	}
	wg.Wait()
	if f.ran.Load() != 50 {
		t.Fatalf("ran %d", f.ran.Load())
	}
	if n := f.inits.Load(); n != 1 {
		t.Fatalf("Init ran %d times for 50 concurrent deliveries, want once", n)
	}
}

// --- helpers ---

// newHandler wires a Handler and its pipeline as bootstrap.NewWebhook does.
func newHandler(deps function.Deps, d *dispatch.Dispatcher, store dedup.Store) *Handler {
	return New(Config{Deps: deps, Pipeline: pipeline.New(pipeline.Config{Deps: deps, Dispatcher: d, Dedup: store})})
}

func merge(a, b http.Header) http.Header {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func basicHeader(userpass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	user, pass, _ := strings.Cut(userpass, ":")
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

// manySigs returns a header with n wrong v1 signatures and then the right
// one.
func manySigs(body []byte, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "t=%d", clock.Unix())
	for i := range n {
		fmt.Fprintf(&b, ",v1=%064x", i+1)
	}
	_, v, _ := strings.Cut(fixture.Sign(body, whsecOld, clock), ",")
	return b.String() + "," + v
}

func twoSigs(body []byte, a, b string) string {
	sa, sb := fixture.Sign(body, a, clock), fixture.Sign(body, b, clock)
	_, va, _ := strings.Cut(sa, ",")
	_, vb, _ := strings.Cut(sb, ",")
	return fmt.Sprintf("t=%d,%s,%s", clock.Unix(), va, vb)
}

func lastLine(t *testing.T, buf *testlog.Buffer) map[string]any {
	t.Helper()
	lines := buf.Lines(t)
	if len(lines) == 0 {
		t.Fatal("nothing logged")
	}
	return lines[len(lines)-1]
}

// noSecrets fails if any secret value appears in the response or the logs.
// The handler's error and panic deliberately quote STRIPE_KEY: the log must
// show them redacted.
func noSecrets(t *testing.T, m secrets.Map, response, logs string) {
	t.Helper()
	for name, v := range m {
		if len(v) < 6 {
			continue
		}
		if strings.Contains(response, v) {
			t.Errorf("response contains secret %s", name)
		}
		if strings.Contains(logs, v) {
			t.Errorf("log contains secret %s", name)
		}
		if _, pass, ok := strings.Cut(v, ":"); ok && pass != "" && strings.Contains(logs+response, pass) {
			t.Errorf("output contains the password of %s", name)
		}
	}
}

// countingRefresher is a secrets.Refresher that counts refetches. A fake:
// the Secrets Manager source refetches against moto in its own tests and in
// functions/webhook's, but cannot say how often it was asked.
type countingRefresher struct {
	*switchable
	n atomic.Int32
}

func (c *countingRefresher) Refresh(ctx context.Context) (secrets.Map, bool, error) {
	c.n.Add(1)
	m, err := c.Load(ctx)
	return m, true, err
}

// TestRefetchOnlyForUnmatchedSignatures checks that only a well-formed
// signature matching no cached secret refetches the secrets: a header with
// no usable v1 entry cannot be fixed by a newer secret.
func TestRefetchOnlyForUnmatchedSignatures(t *testing.T) {
	body := chargeEvent("ok")
	ts := fmt.Sprint(clock.Unix())
	tests := []struct {
		name, header string
		refetches    int32
	}{
		{"no v1 entry", "t=" + ts, 0},
		{"only v0", "t=" + ts + ",v0=" + strings.Repeat("ab", 32), 0},
		{"v1 not hex", "t=" + ts + ",v1=" + strings.Repeat("zz", 32), 0},
		{"v1 too short", "t=" + ts + ",v1=abcd", 0},
		{"well-formed, other secret", fixture.Sign(body, "whsec_someone_else_entirely", clock), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			src := &countingRefresher{switchable: &switchable{m: secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld}}}
			deps := function.Deps{Secrets: src, Log: f.h.cfg.Log, Now: func() time.Time { return clock }}
			d, err := dispatch.New(testHandler{ran: f.ran, inits: f.inits})
			if err != nil {
				t.Fatal(err)
			}
			f.h = newHandler(deps, d, nil)
			w := f.do("POST", body, http.Header{"Stripe-Signature": {tt.header}})
			if w.Code != 400 || f.ran.Load() != 0 {
				t.Fatalf("status %d, ran %d: %s", w.Code, f.ran.Load(), w.Body)
			}
			if got := src.n.Load(); got != tt.refetches {
				t.Fatalf("%d refetches, want %d", got, tt.refetches)
			}
		})
	}
}

// TestUnauthenticatedHeaderNotLogged checks that a malformed Stripe-Signature
// is quoted in the log only by its start: whoever sends it writes into the
// function's log otherwise.
func TestUnauthenticatedHeaderNotLogged(t *testing.T) {
	f := newFixture(t, secrets.Map{"STRIPE_WEBHOOK_SECRET": whsecOld})
	body := chargeEvent("ok")
	payload := "t=1,INJECTED" + strings.Repeat("x", 5000)
	w := f.do("POST", body, http.Header{"Stripe-Signature": {payload}})
	if w.Code != 400 {
		t.Fatalf("status %d", w.Code)
	}
	logs := f.log.String()
	if strings.Contains(logs, strings.Repeat("x", 100)) {
		t.Fatalf("the header was logged whole: %d bytes of log", len(logs))
	}
	if !strings.Contains(logs, "INJECTED") || !strings.Contains(logs, "bytes)") {
		t.Fatalf("the header's start and length are not logged: %s", logs)
	}
}

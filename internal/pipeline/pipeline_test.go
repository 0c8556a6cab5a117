package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/function"
	"stripetask/internal/metrics"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

const stripeKey = "sk_test_pipeline_0123456789"

// testHandler acts on the charge's description: "fail" returns an error
// quoting STRIPE_KEY, "panic" panics quoting it, "block" waits for the
// test (whatever its context), "wait-ctx" for its context to end and fails
// ("wait-ctx-ok" succeeds), anything else succeeds.
type testHandler struct {
	dispatch.Env
	st *state
}

type state struct {
	mu      sync.Mutex
	runs    map[string]int // charge id -> runs
	inits   atomic.Int32
	objects []any       // InvoicePaid's h.Event.Data.Object
	causes  []error     // context.Cause when a "wait-ctx" method's context ended
	ended   []time.Time // when a "wait-ctx" method saw its context end
	stale   []string    // "<event id> <stale> <error>" from CustomerSubscriptionUpdated
	started chan struct{}
	release chan struct{}
}

func newState() *state {
	return &state{runs: map[string]int{}, started: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *state) count(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs[id]
}

func (h *testHandler) Init(ctx context.Context) error {
	h.st.inits.Add(1)
	if h.Secrets["INIT_FAILS"] == "yes" {
		return errors.New("cannot reach the warehouse")
	}
	if h.Secrets["INIT_HANGS"] == "yes" {
		<-h.st.release // ignores its ctx
	}
	return nil
}

func (h *testHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.st.mu.Lock()
	h.st.runs[c.ID]++
	h.st.mu.Unlock()
	h.Log.Info("charge seen", "charge", c.ID)
	switch c.Description {
	case "fail":
		return fmt.Errorf("warehouse refused %s with key %s", c.ID, h.Secrets["STRIPE_KEY"])
	case "panic":
		panic("handler bug " + h.Secrets["STRIPE_KEY"])
	case "block":
		h.st.started <- struct{}{}
		<-h.st.release
	case "wait-ctx", "wait-ctx-ok":
		h.st.started <- struct{}{}
		<-ctx.Done()
		h.st.mu.Lock()
		h.st.causes = append(h.st.causes, context.Cause(ctx))
		h.st.ended = append(h.st.ended, time.Now())
		h.st.mu.Unlock()
		if c.Description == "wait-ctx-ok" {
			return nil
		}
		return ctx.Err()
	}
	return nil
}

func (h *testHandler) CustomerSubscriptionUpdated(ctx context.Context, sub *stripe.Subscription) error {
	stale, err := h.Stale(ctx)
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	h.st.stale = append(h.st.stale, fmt.Sprint(h.Event.ID, " ", stale, " ", err))
	return nil
}

// ChargeRefunded refunds the charge through h.Stripe, to show which
// account the call acts on.
func (h *testHandler) ChargeRefunded(ctx context.Context, c *stripe.Charge) error {
	params := &stripe.RefundParams{Charge: stripe.String(c.ID)}
	params.Context = ctx
	if c.Description == "own account" {
		params.SetStripeAccount("acct_1Explicit")
	}
	_, err := h.Stripe.Refunds.New(params)
	return err
}

func (h *testHandler) InvoicePaid(ctx context.Context) error {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	h.st.objects = append(h.st.objects, h.Event.Data.Object)
	return nil
}

// source is a fake secrets.Source the tests switch between content and
// failure: the environment source cannot fail, and the Secrets Manager
// source has its own tests against moto.
type source struct {
	mu  sync.Mutex
	m   secrets.Map
	err error
}

func (s *source) Load(context.Context) (secrets.Map, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, s.err
}

// Cached is what the source holds: its map, unless it is failing.
func (s *source) Cached() (secrets.Map, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m, s.err == nil && s.m != nil
}

func (s *source) set(m secrets.Map, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m, s.err = m, err
}

type testbed struct {
	p   *Pipeline
	st  *state
	src *source
	log *testlog.Buffer
}

func newTestbed(t *testing.T, m secrets.Map, store dedup.Store, opts ...dispatch.Option) *testbed {
	t.Helper()
	return newTestbedTerm(t, m, store, 0, opts...)
}

// newTestbedTerm is newTestbed with a lease term.
func newTestbedTerm(t *testing.T, m secrets.Map, store dedup.Store, term time.Duration, opts ...dispatch.Option) *testbed {
	t.Helper()
	st := newState()
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := dispatch.New(testHandler{st: st}, append(opts, dispatch.WithLogger(log))...)
	if err != nil {
		t.Fatal(err)
	}
	src := &source{m: m}
	p := New(Config{Deps: function.Deps{Secrets: src, Log: log}, Dispatcher: d, Dedup: store, LeaseTerm: term})
	return &testbed{p: p, st: st, src: src, log: buf}
}

var testSource = &Source{Name: "test"}

func charge(evt, ch, description string) []byte {
	return []byte(`{"id":"` + evt + `","object":"event","api_version":"` + stripe.APIVersion + `","created":1750000000,"type":"charge.succeeded","data":{"object":{"id":"` + ch + `","object":"charge","amount":500,"description":"` + description + `"}}}`)
}

func TestOutcomes(t *testing.T) {
	base := secrets.Map{"STRIPE_KEY": stripeKey}
	tests := []struct {
		name    string
		secrets secrets.Map
		srcErr  error
		body    []byte
		opts    []dispatch.Option
		want    Outcome
		method  string
		runs    int
		level   string
	}{
		{name: "handled", body: charge("evt_1", "ch_1", "ok"), want: Handled, method: "ChargeSucceeded", runs: 1, level: "INFO"},
		{name: "ignored", body: []byte(`{"id":"evt_1","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`), want: Ignored, level: "INFO"},
		{name: "handler error", body: charge("evt_1", "ch_1", "fail"), want: HandlerError, method: "ChargeSucceeded", runs: 1, level: "ERROR"},
		{name: "handler panic", body: charge("evt_1", "ch_1", "panic"), want: HandlerPanic, method: "ChargeSucceeded", runs: 1, level: "ERROR"},
		{name: "undecodable object", body: []byte(`{"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1","amount":"lots"}}}`), want: UndecodableObject, method: "ChargeSucceeded", level: "ERROR"},
		{name: "not an event", body: []byte(`{"id":"cus_1","object":"customer"}`), want: NotEvent, level: "WARN"},
		{name: "malformed", body: []byte(`{"id":`), want: Malformed, level: "WARN"},
		{name: "empty body", body: nil, want: Malformed, level: "WARN"},
		{name: "api version refused", body: []byte(`{"id":"evt_1","object":"event","api_version":"2020-08-27","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`),
			opts: []dispatch.Option{dispatch.StrictAPIVersion(true)}, want: APIVersionMismatch, method: "ChargeSucceeded", level: "ERROR"},
		{name: "secrets unavailable", srcErr: fmt.Errorf("%w: fetching secret stripetask/prod: timeout", secrets.ErrUnavailable), body: charge("evt_1", "ch_1", "ok"), want: SecretsUnavailable, level: "ERROR"},
		{name: "init failed", secrets: secrets.Map{"STRIPE_KEY": stripeKey, "INIT_FAILS": "yes"}, body: charge("evt_1", "ch_1", "ok"), want: InitFailed, level: "ERROR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.secrets
			if m == nil {
				m = base
			}
			tb := newTestbed(t, m, nil, tt.opts...)
			tb.src.set(m, tt.srcErr)
			res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: tt.body, RequestID: "req-1"})
			if res.Outcome != tt.want || res.Method != tt.method {
				t.Fatalf("outcome %q method %q (err %v), want %q %q", res.Outcome, res.Method, res.Err, tt.want, tt.method)
			}
			if got := tb.st.count("ch_1"); got != tt.runs {
				t.Fatalf("ran %d times, want %d", got, tt.runs)
			}
			lines := tb.log.Messages(t, logMsg)
			if len(lines) != 1 {
				t.Fatalf("%d delivery lines, want 1:\n%s", len(lines), tb.log)
			}
			l := lines[0]
			if l["outcome"] != string(tt.want) || l["level"] != tt.level || l["request_id"] != "req-1" || l["source"] != "test" {
				t.Fatalf("line %v", l)
			}
			if _, ok := l["status"]; ok {
				t.Fatalf("a source without Status logged a status: %v", l)
			}
			if res.Event != nil && (l["event_id"] != res.Event.ID || l["event_type"] != string(res.Event.Type) || l["method"] != res.Method) {
				t.Fatalf("line %v does not name the event", l)
			}
			if (res.Err != nil) != (l["error"] != nil) {
				t.Fatalf("error %v, line %v", res.Err, l)
			}
			if strings.Contains(tb.log.String(), stripeKey) {
				t.Fatalf("STRIPE_KEY in the log:\n%s", tb.log)
			}
		})
	}
}

// TestRedaction checks that the handler's error and panic, which quote
// STRIPE_KEY, reach the log redacted and the stack is logged.
func TestRedaction(t *testing.T) {
	tb := newTestbed(t, secrets.Map{"STRIPE_KEY": stripeKey}, nil)
	tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_1", "ch_1", "fail")})
	tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_2", "ch_2", "panic")})
	lines := tb.log.Messages(t, logMsg)
	if len(lines) != 2 {
		t.Fatalf("lines: %v", lines)
	}
	if e, _ := lines[0]["error"].(string); !strings.Contains(e, "with key [STRIPE_KEY]") {
		t.Fatalf("error not redacted: %q", e)
	}
	if s, _ := lines[1]["stack"].(string); !strings.Contains(s, "ChargeSucceeded") {
		t.Fatalf("no stack: %v", lines[1])
	}
	if strings.Contains(tb.log.String(), stripeKey) {
		t.Fatalf("STRIPE_KEY in the log:\n%s", tb.log)
	}
}

// TestSourceStatus checks that a source's Status is logged and sets the
// level: the webhook's 409 for in_progress is a warning.
func TestSourceStatus(t *testing.T) {
	src := &Source{Name: "webhook", Status: func(o Outcome) int {
		if o == Handled {
			return 200
		}
		return 503
	}}
	tb := newTestbed(t, secrets.Map{"STRIPE_KEY": stripeKey}, nil)
	tb.p.Handle(t.Context(), Input{Source: src, Body: charge("evt_1", "ch_1", "ok")})
	tb.p.Handle(t.Context(), Input{Source: src, Body: []byte(`nope`)})
	lines := tb.log.Messages(t, logMsg)
	if lines[0]["status"] != 200.0 || lines[0]["level"] != "INFO" || lines[1]["status"] != 503.0 || lines[1]["level"] != "ERROR" {
		t.Fatalf("lines: %v", lines)
	}
}

// TestHandlerLogCarriesIDs checks h.Log's lines name the request and the
// event.
func TestHandlerLogCarriesIDs(t *testing.T) {
	tb := newTestbed(t, secrets.Map{}, nil)
	tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_7", "ch_7", "ok"), RequestID: "req-7"})
	for _, l := range tb.log.Lines(t) {
		if l["msg"] == "charge seen" {
			if l["request_id"] != "req-7" || l["event_id"] != "evt_7" || l["event_type"] != "charge.succeeded" || l["charge"] != "ch_7" {
				t.Fatalf("handler line %v", l)
			}
			return
		}
	}
	t.Fatalf("no handler line:\n%s", tb.log)
}

// TestDecodedEvent runs events decoded by stripe-go, as the Events API
// returns them, through the same steps as bodies.
func TestDecodedEvent(t *testing.T) {
	tb := newTestbed(t, secrets.Map{}, nil)
	var e stripe.Event
	if err := json.Unmarshal(charge("evt_9", "ch_9", "ok"), &e); err != nil {
		t.Fatal(err)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Event: &e}); res.Outcome != Handled || tb.st.count("ch_9") != 1 {
		t.Fatalf("typed: %+v, ran %d", res, tb.st.count("ch_9"))
	}
	var inv stripe.Event
	if err := json.Unmarshal([]byte(`{"id":"evt_10","object":"event","type":"invoice.paid","data":{"object":{"id":"in_1","object":"invoice","customer":"cus_1"}}}`), &inv); err != nil {
		t.Fatal(err)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Event: &inv}); res.Outcome != Handled {
		t.Fatalf("envelope-only: %+v", res)
	}
	if len(tb.st.objects) != 1 || tb.st.objects[0].(map[string]any)["customer"] != "cus_1" {
		t.Fatalf("envelope-only method saw %v", tb.st.objects)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Event: &stripe.Event{ID: "evt_x", Type: "charge.succeeded"}}); res.Outcome != NotEvent {
		t.Fatalf("event without data: %+v", res)
	}
}

// TestWarmRecovers checks that a cold start that could not load its
// secrets, or whose Init failed, recovers with a later event, and that Init
// runs exactly once however many events arrive together.
func TestWarmRecovers(t *testing.T) {
	tb := newTestbed(t, nil, nil)
	tb.src.set(nil, fmt.Errorf("%w: down", secrets.ErrUnavailable))
	if o, err := tb.p.Warm(t.Context()); o != SecretsUnavailable || err == nil {
		t.Fatalf("Warm: %q %v", o, err)
	}
	tb.src.set(secrets.Map{"INIT_FAILS": "yes"}, nil)
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_1", "ch_1", "ok")}); res.Outcome != InitFailed {
		t.Fatalf("%+v", res)
	}
	tb.src.set(secrets.Map{}, nil)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			body := charge(fmt.Sprintf("evt_c%d", i), fmt.Sprintf("ch_c%d", i), "ok")
			if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Handled {
				t.Errorf("%+v", res)
			}
		})
	}
	wg.Wait()
	if n := tb.st.inits.Load(); n != 2 {
		t.Fatalf("Init ran %d times: want once failing and once for the 20 concurrent events", n)
	}
}

// TestRefuse checks the line of an event refused by its source.
func TestRefuse(t *testing.T) {
	src := &Source{Name: "webhook", Status: func(Outcome) int { return 400 }}
	tb := newTestbed(t, secrets.Map{"STRIPE_KEY": stripeKey}, nil)
	tb.p.Refuse(t.Context(), Input{Source: src, RequestID: "req-r"}, "bad_signature", errors.New("no signature matches "+stripeKey))
	lines := tb.log.Messages(t, logMsg)
	if len(lines) != 1 || lines[0]["outcome"] != "bad_signature" || lines[0]["status"] != 400.0 || lines[0]["level"] != "WARN" || lines[0]["request_id"] != "req-r" {
		t.Fatalf("lines %v", lines)
	}
	if strings.Contains(tb.log.String(), stripeKey) {
		t.Fatalf("STRIPE_KEY in the log:\n%s", tb.log)
	}
}

// TestOutcomeLevel pins the level of every outcome without a status: error
// for those that alert, info for the done ones, warning for the rest.
func TestOutcomeLevel(t *testing.T) {
	for o, want := range map[Outcome]slog.Level{
		Handled: slog.LevelInfo, Ignored: slog.LevelInfo, Duplicate: slog.LevelInfo,
		InProgress: slog.LevelWarn, UndecodableObject: slog.LevelError, NotEvent: slog.LevelWarn,
		Malformed: slog.LevelWarn, APIVersionMismatch: slog.LevelError,
		HandlerError: slog.LevelError, HandlerPanic: slog.LevelError, DedupUnavailable: slog.LevelError,
		SecretsUnavailable: slog.LevelError, InitFailed: slog.LevelError,
		HandlerTimeout: slog.LevelError, QueueUnavailable: slog.LevelError,
		Queued: slog.LevelInfo, TestEventInLiveMode: slog.LevelInfo,
		BadSignature: slog.LevelWarn, ForeignSource: slog.LevelError, AuthNotConfigured: slog.LevelError,
	} {
		if got := o.Level(); got != want {
			t.Errorf("%s.Level() = %v, want %v", o, got, want)
		}
	}
}

// TestDedup runs the claim and settle steps against DynamoDB (moto):
// duplicates, a live claim, a failure released for the retry, an outage.
func TestDedup(t *testing.T) {
	store, srv := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	handle := func(body []byte, rid string) Result {
		return tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: rid})
	}

	if res := handle(charge("evt_d1", "ch_d1", "ok"), "req-1"); res.Outcome != Handled {
		t.Fatalf("first: %+v", res)
	}
	if res := handle(charge("evt_d1", "ch_d1", "ok"), "req-2"); res.Outcome != Duplicate || res.Err != nil {
		t.Fatalf("redelivery: %+v", res)
	}
	if n := tb.st.count("ch_d1"); n != 1 {
		t.Fatalf("ran %d times", n)
	}

	// A failure releases the claim: the retry runs.
	if res := handle(charge("evt_d2", "ch_d2", "fail"), "req-3"); res.Outcome != HandlerError {
		t.Fatalf("%+v", res)
	}
	if res := handle(charge("evt_d2", "ch_d2", "ok"), "req-4"); res.Outcome != Handled {
		t.Fatalf("retry after failure: %+v", res)
	}

	// A live claim: the second delivery is in progress and does not run.
	done := make(chan Result, 1)
	go func() { done <- handle(charge("evt_d3", "ch_d3", "block"), "req-5") }()
	select {
	case <-tb.st.started:
	case res := <-done:
		t.Fatalf("the blocking run ended first: %+v", res)
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking run did not start")
	}
	if res := handle(charge("evt_d3", "ch_d3", "ok"), "req-6"); res.Outcome != InProgress || res.Err == nil {
		t.Fatalf("during a live claim: %+v", res)
	}
	close(tb.st.release)
	if res := <-done; res.Outcome != Handled {
		t.Fatalf("blocking run: %+v", res)
	}
	if n := tb.st.count("ch_d3"); n != 1 {
		t.Fatalf("ran %d times", n)
	}

	// Ignored events are not claimed, so not recorded.
	ignored := []byte(`{"id":"evt_d4","object":"event","type":"customer.created","data":{"object":{"id":"cus_1","object":"customer"}}}`)
	for range 2 {
		if res := handle(ignored, "req-7"); res.Outcome != Ignored {
			t.Fatalf("%+v", res)
		}
	}

	// The store down: nothing runs unrecorded.
	srv.Down()
	if res := handle(charge("evt_d5", "ch_d5", "ok"), "req-8"); res.Outcome != DedupUnavailable || !errors.Is(res.Err, dedup.ErrUnavailable) {
		t.Fatalf("store down: %+v", res)
	}
	if n := tb.st.count("ch_d5"); n != 0 {
		t.Fatalf("ran %d times with the store down", n)
	}
}

// TestDedupConcurrent delivers one event 20 times at once: one run.
func TestDedupConcurrent(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	var wg sync.WaitGroup
	var handled, refused atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_c", "ch_c", "ok"), RequestID: fmt.Sprint("req-", i)})
			switch res.Outcome {
			case Handled:
				handled.Add(1)
			case Duplicate, InProgress:
				refused.Add(1)
			default:
				t.Errorf("%+v", res)
			}
		})
	}
	wg.Wait()
	if tb.st.count("ch_c") != 1 || handled.Load() != 1 || refused.Load() != 19 {
		t.Fatalf("ran %d, handled %d, refused %d", tb.st.count("ch_c"), handled.Load(), refused.Load())
	}
}

// waitStarted waits for a blocking method to start, or fails with the
// result of the run that ended instead.
func waitStarted(t *testing.T, st *state, done <-chan Result) {
	t.Helper()
	select {
	case <-st.started:
	case res := <-done:
		t.Fatalf("the method never started: %+v", res)
	case <-time.After(30 * time.Second):
		t.Fatal("the method did not start within 30 s")
	}
}

// pastFirstLease waits until a claim taken before started with a lease of
// term would have lapsed, had it not been extended: the condition is the
// time itself, measured by the same clock as the lease, with a quarter of
// a term of margin.
func pastFirstLease(started time.Time, term time.Duration) {
	time.Sleep(time.Until(started.Add(term + term/4)))
}

// TestLeaseExtendedWhileRunning runs a method past the lease term: its
// claim is extended, so a redelivery meanwhile is in progress and never
// takes the claim over (before, it did after 30 s and the method ran twice).
// The term is long enough that each extension (a third of it, against
// moto) is made on a busy machine; the redelivery would succeed at once,
// rather than block, if it took the claim.
func TestLeaseExtendedWhileRunning(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	const term = 2 * time.Second
	tb := newTestbedTerm(t, secrets.Map{}, store, term)
	body := charge("evt_long", "ch_long", "block")
	done := make(chan Result, 1)
	go func() { done <- tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-1"}) }()
	waitStarted(t, tb.st, done)
	pastFirstLease(time.Now(), term)
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_long", "ch_long", "ok"), RequestID: "req-2"}); res.Outcome != InProgress {
		t.Fatalf("redelivery past the first lease: %+v\nlog:\n%s", res, tb.log)
	}
	close(tb.st.release)
	if res := <-done; res.Outcome != Handled {
		t.Fatalf("the long run: %+v", res)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-3"}); res.Outcome != Duplicate {
		t.Fatalf("after the run: %+v", res)
	}
	if n := tb.st.count("ch_long"); n != 1 {
		t.Fatalf("ran %d times", n)
	}
}

// leases is a dedup store that remembers the last lease it granted (by
// Claim or Extend), the time after which another run may take the claim.
type leases struct {
	dedup.Store
	mu   sync.Mutex
	last time.Time
}

func (l *leases) Claim(ctx context.Context, id string, c dedup.Claim) error {
	err := l.Store.Claim(ctx, id, c)
	if err == nil {
		l.granted(c.Lease)
	}
	return err
}

func (l *leases) Extend(ctx context.Context, id, owner string, lease time.Time) error {
	err := l.Store.Extend(ctx, id, owner, lease)
	if err == nil {
		l.granted(lease)
	}
	return err
}

func (l *leases) granted(lease time.Time) {
	l.mu.Lock()
	l.last = lease
	l.mu.Unlock()
}

func (l *leases) lastLease() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.last
}

// TestLeaseLostEndsMethod stops the store while a method runs: the claim
// cannot be extended, so before its lease ends the method's context ends
// with ErrLeaseLost. The bound is the lease the store last granted, not a
// time since the test began (which would count the claim and the store's
// outage on a busy machine).
func TestLeaseLostEndsMethod(t *testing.T) {
	dynamo, srv := deduptest.Store(t, "pipeline-dedup")
	store := &leases{Store: dynamo}
	const term = 1500 * time.Millisecond
	tb := newTestbedTerm(t, secrets.Map{}, store, term)
	done := make(chan Result, 1)
	go func() {
		done <- tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_lost", "ch_lost", "wait-ctx"), RequestID: "req-1"})
	}()
	waitStarted(t, tb.st, done)
	srv.Down()
	var res Result
	select {
	case res = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the method's context did not end when its lease could not be extended")
	}
	if res.Outcome != HandlerError || len(tb.st.causes) != 1 || !errors.Is(tb.st.causes[0], ErrLeaseLost) {
		t.Fatalf("outcome %+v, causes %v", res, tb.st.causes)
	}
	if ended, lease := tb.st.ended[0], store.lastLease(); !ended.Before(lease) {
		t.Errorf("the method's context ended %v after the lease the store last granted: another run could have started", ended.Sub(lease))
	}
}

// TestOwnerUniquePerRun runs one event twice at once under the same request
// id (two invokes of one fixture, a replayed Lambda payload): one runs, the
// other finds it in progress.
func TestOwnerUniquePerRun(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	body := charge("evt_same", "ch_same", "block")
	done := make(chan Result, 1)
	go func() { done <- tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-same"}) }()
	waitStarted(t, tb.st, done)
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-same"}); res.Outcome != InProgress {
		t.Fatalf("second run under the same request id: %+v", res)
	}
	close(tb.st.release)
	if res := <-done; res.Outcome != Handled {
		t.Fatalf("first run: %+v", res)
	}
	if n := tb.st.count("ch_same"); n != 1 {
		t.Fatalf("ran %d times", n)
	}
}

// TestDeadlineKeepsTimeToSettle gives the pipeline a deadline: the method's
// context ends a tail before it, the outcome is recorded (completed or
// released) and Handle returns before the deadline.
func TestDeadlineKeepsTimeToSettle(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	for _, tt := range []struct {
		description string
		want, next  Outcome
	}{
		{"wait-ctx", HandlerError, Handled}, // failed: released, the retry runs
		{"wait-ctx-ok", Handled, Duplicate}, // succeeded at the last moment: completed
	} {
		id := "evt_" + tt.description
		deadline := time.Now().Add(3 * time.Second)
		ctx, cancel := context.WithDeadline(t.Context(), deadline)
		done := make(chan Result, 1)
		go func() {
			done <- tb.p.Handle(ctx, Input{Source: testSource, Body: charge(id, "ch_"+id, tt.description), RequestID: "req-1"})
		}()
		waitStarted(t, tb.st, done)
		res := <-done
		returned := time.Now()
		cancel()
		if res.Outcome != tt.want {
			t.Fatalf("%s: %+v", tt.description, res)
		}
		if !returned.Before(deadline) {
			t.Fatalf("%s: returned %v after the deadline", tt.description, returned.Sub(deadline))
		}
		if left := deadline.Sub(returned); left > function.MaxTail {
			t.Errorf("%s: returned %v before the deadline: the method's time was cut short", tt.description, left)
		}
		if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: charge(id, "ch_"+id, "ok"), RequestID: "req-2"}); res.Outcome != tt.next {
			t.Fatalf("%s: the next delivery: %+v, want %s", tt.description, res, tt.next)
		}
	}
}

// TestAbandonedRun gives a deadline to a method that ignores its context:
// the pipeline answers handler_timeout before the deadline, the claim stays
// held (and extended) while the method still runs, and is completed when
// it returns. The method runs until the test releases it, past its first
// lease, so how fast the machine is does not decide what the redelivery
// finds.
func TestAbandonedRun(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	const term = 2 * time.Second
	tb := newTestbedTerm(t, secrets.Map{}, store, term)
	deadline := time.Now().Add(3 * time.Second)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()
	done := make(chan Result, 1)
	go func() {
		done <- tb.p.Handle(ctx, Input{Source: testSource, Body: charge("evt_slow", "ch_slow", "block"), RequestID: "req-1"})
	}()
	waitStarted(t, tb.st, done)
	started := time.Now() // no earlier than the method started, after its claim
	res := <-done
	if res.Outcome != HandlerTimeout || !time.Now().Before(deadline) {
		t.Fatalf("%+v, %v after the deadline", res, time.Since(deadline))
	}
	// In AWS Lambda the source's runtime ends the environment now
	// (lambdaenv): Abandoned says so.
	wctx, wcancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	if !tb.p.Abandoned(wctx) {
		t.Error("Abandoned reports no run while the abandoned method runs")
	}
	wcancel()
	pastFirstLease(started, term) // kept alive by the abandoned run
	body := charge("evt_slow", "ch_slow", "ok")
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-2"}); res.Outcome != InProgress {
		t.Fatalf("while the abandoned run goes on: %+v\nlog:\n%s", res, tb.log)
	}
	close(tb.st.release)
	deadlineDone := time.Now().Add(10 * time.Second)
	for {
		res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, RequestID: "req-3"})
		if res.Outcome == Duplicate {
			break
		}
		if res.Outcome != InProgress || time.Now().After(deadlineDone) {
			t.Fatalf("after the abandoned run: %+v", res)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := tb.st.count("ch_slow"); n != 1 {
		t.Fatalf("ran %d times", n)
	}
	// Settled: nothing is left running, so nothing need end.
	wctx, wcancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if tb.p.Abandoned(wctx) {
		t.Error("Abandoned still reports a run after it returned and settled")
	}
	if !strings.Contains(tb.log.String(), "an abandoned run returned") {
		t.Errorf("the abandoned run's end was not logged:\n%s", tb.log)
	}
}

// TestForce runs a completed event again on purpose: it runs once more,
// says so in its line, and a live claim still stops it.
func TestForce(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	body := charge("evt_force", "ch_force", "ok")
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Handled {
		t.Fatalf("%+v", res)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Duplicate {
		t.Fatalf("%+v", res)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body, Force: true}); res.Outcome != Handled {
		t.Fatalf("forced: %+v", res)
	}
	if n := tb.st.count("ch_force"); n != 2 {
		t.Fatalf("ran %d times, want 2", n)
	}
	lines := tb.log.Messages(t, logMsg)
	if last := lines[len(lines)-1]; last["forced"] != true {
		t.Fatalf("the forced run's line does not say so: %v", last)
	}
	if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Duplicate {
		t.Fatalf("after the forced run: %+v", res)
	}
}

// TestMetrics checks the Embedded Metric Format in the line of every event:
// Events by function and outcome, and HandlerDuration for methods that ran.
func TestMetrics(t *testing.T) {
	st := newState()
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, nil))
	d, err := dispatch.New(testHandler{st: st})
	if err != nil {
		t.Fatal(err)
	}
	p := New(Config{Deps: function.Deps{Secrets: secrets.Static{}, Log: log}, Dispatcher: d, Function: "webhook"})
	p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_m1", "ch_m1", "ok")})
	p.Handle(t.Context(), Input{Source: testSource, Body: charge("evt_m2", "ch_m2", "fail")})
	p.Handle(t.Context(), Input{Source: testSource, Body: []byte(`{"id":"evt_m3","object":"event","type":"customer.created","data":{"object":{}}}`)})
	p.Refuse(t.Context(), Input{Source: testSource}, "bad_signature", errors.New("no match"))
	lines := buf.Messages(t, logMsg)
	if len(lines) != 4 {
		t.Fatalf("lines: %v", lines)
	}
	for i, want := range []struct {
		outcome  string
		duration bool
	}{{"handled", true}, {"handler_error", true}, {"ignored", false}, {"bad_signature", false}} {
		l := lines[i]
		if msg := metrics.Validate(l); msg != "" && (want.duration || !strings.Contains(msg, "HandlerDuration")) {
			t.Errorf("line %d is not EMF: %s: %v", i, msg, l)
		}
		if l["Function"] != "webhook" || l["Outcome"] != want.outcome || l["Events"] != 1.0 {
			t.Errorf("line %d: %v", i, l)
		}
		if _, ok := l["HandlerDuration"].(float64); ok != want.duration {
			t.Errorf("line %d: HandlerDuration present %v, want %v", i, ok, want.duration)
		}
	}
}

func subscriptionUpdated(id string, created int64, sub string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","created":%d,"type":"customer.subscription.updated","data":{"object":{"id":%q,"object":"subscription","status":"active"}}}`, id, created, sub))
}

// TestStale delivers events about one subscription out of order: the older
// one, arriving after a newer one was handled, is stale; one of the same
// second is not; another subscription's is not; without a dedup table
// Stale says it cannot tell.
func TestStale(t *testing.T) {
	store, _ := deduptest.Store(t, "pipeline-dedup")
	tb := newTestbed(t, secrets.Map{}, store)
	for _, body := range [][]byte{
		subscriptionUpdated("evt_new", 2000, "sub_1"),   // handled first
		subscriptionUpdated("evt_old", 1000, "sub_1"),   // older, arrives late: stale
		subscriptionUpdated("evt_same", 2000, "sub_1"),  // same second: not stale
		subscriptionUpdated("evt_other", 1500, "sub_2"), // another object
		subscriptionUpdated("evt_newer", 3000, "sub_1"), // newer still
	} {
		if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Handled {
			t.Fatalf("%+v", res)
		}
	}
	want := []string{"evt_new false <nil>", "evt_old true <nil>", "evt_same false <nil>", "evt_other false <nil>", "evt_newer false <nil>"}
	if !slices.Equal(tb.st.stale, want) {
		t.Fatalf("Stale answers %q, want %q", tb.st.stale, want)
	}

	plain := newTestbed(t, secrets.Map{}, nil)
	plain.p.Handle(t.Context(), Input{Source: testSource, Body: subscriptionUpdated("evt_x", 1, "sub_9")})
	if len(plain.st.stale) != 1 || !strings.Contains(plain.st.stale[0], "DEDUP_TABLE") {
		t.Fatalf("without dedup: %q", plain.st.stale)
	}
}

func refunded(id, account string, livemode bool, description string) []byte {
	return []byte(fmt.Sprintf(`{"id":%q,"object":"event","account":%q,"livemode":%v,"created":1750000000,"type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge","description":%q}}}`, id, account, livemode, description))
}

// TestConnectAccount checks, at a recording proxy in front of stripe-mock,
// that calls through h.Stripe for a connected account's event act on that
// account, that a platform event's do not, and that a call naming its own
// account keeps it.
func TestConnectAccount(t *testing.T) {
	target, _ := url.Parse(stripemock.Start(t))
	var mu sync.Mutex
	var seen []string
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Stripe-Account"))
		mu.Unlock()
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	tb := newTestbed(t, secrets.Map{"STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": proxy.URL}, nil)
	for _, body := range [][]byte{
		refunded("evt_c1", "acct_1Connected", false, ""),
		refunded("evt_c2", "", false, ""),
		refunded("evt_c3", "acct_1Connected", false, "own account"),
	} {
		if res := tb.p.Handle(t.Context(), Input{Source: testSource, Body: body}); res.Outcome != Handled {
			t.Fatalf("%+v", res)
		}
	}
	if want := []string{"acct_1Connected", "", "acct_1Explicit"}; !slices.Equal(seen, want) {
		t.Fatalf("Stripe-Account headers %q, want %q", seen, want)
	}
}

// TestTestEventsInLiveMode checks the guard of live Connect endpoints: with
// a live STRIPE_KEY a test-mode event is acknowledged and not run, unless
// AcceptTestEvents; with a test key, test events run; live events always do.
func TestTestEventsInLiveMode(t *testing.T) {
	tests := []struct {
		key      string
		accept   bool
		livemode bool
		want     Outcome
	}{
		{"sk_live_0123456789abcdef", false, false, TestEventInLiveMode},
		{"rk_live_0123456789abcdef", false, false, TestEventInLiveMode},
		{"sk_live_0123456789abcdef", true, false, Handled},
		{"sk_live_0123456789abcdef", false, true, Handled},
		{"sk_test_0123456789abcdef", false, false, Handled},
	}
	for _, tt := range tests {
		st := newState()
		d, err := dispatch.New(testHandler{st: st})
		if err != nil {
			t.Fatal(err)
		}
		p := New(Config{Deps: function.Deps{Secrets: secrets.Static{"STRIPE_KEY": tt.key}}, Dispatcher: d, AcceptTestEvents: tt.accept})
		body := []byte(fmt.Sprintf(`{"id":"evt_t","object":"event","account":"acct_1","livemode":%v,"type":"charge.succeeded","data":{"object":{"id":"ch_t","object":"charge"}}}`, tt.livemode))
		res := p.Handle(t.Context(), Input{Source: testSource, Body: body})
		if res.Outcome != tt.want {
			t.Errorf("key %.8s accept %v livemode %v: %s, want %s", tt.key, tt.accept, tt.livemode, res.Outcome, tt.want)
		}
		if ran := st.count("ch_t") == 1; ran != (tt.want == Handled) {
			t.Errorf("key %.8s accept %v livemode %v: ran %v", tt.key, tt.accept, tt.livemode, ran)
		}
	}
}

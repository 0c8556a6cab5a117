package dispatchtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stripetask/dispatch"
	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup"
	"stripetask/internal/devtools"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// A Webhook is a Handler behind the webhook's real path, in the test's
// process: each delivery is signed as Stripe signs it, at the current
// time, and served by the same http.Handler the deployed function runs
// (signature and Basic auth checks, then the event pipeline: decode, the
// dedup claim, the method on a fresh copy of the Handler, settle, the log
// line), with h.Stripe pointed at the test binary's stripe-mock.
type Webhook struct {
	t       testing.TB
	handler http.Handler
	secrets secrets.Map
	extra   []string // the Handler's ExtraEventTypes
	logs    *logSink
	seq     atomic.Int64
}

// An Option configures a Webhook.
type Option func(*options)

type options struct {
	secrets map[string]string
	dedup   bool
}

// WithSecrets sets secrets of the Webhook, over its defaults:
// STRIPE_WEBHOOK_SECRET (fixture.LocalSecret, the local test secret),
// STRIPE_KEY (stripe-mock's test key) and STRIPE_API_BASE (the test
// binary's stripe-mock). Deliveries are signed with the first of
// STRIPE_WEBHOOK_SECRET's secrets, and carry BASIC_AUTH's credentials when
// it is set; an empty STRIPE_WEBHOOK_SECRET leaves them unsigned. Every
// secret is in h.Secrets.
func WithSecrets(m map[string]string) Option {
	return func(o *options) {
		if o.secrets == nil {
			o.secrets = map[string]string{}
		}
		maps.Copy(o.secrets, m)
	}
}

// WithDedup gives the Webhook an exactly-once store, as DEDUP_TABLE does
// the deployed function: a memory store with the DynamoDB store's
// behaviour (dedup.NewMemory). A method then runs to success at most once
// per event id; a failed run is released for the retry; h.Stale works.
func WithDedup() Option { return func(o *options) { o.dedup = true } }

// NewWebhook returns a Webhook running the Handler proto (a value of your
// Handler type, as functions/webhook passes it to the runtime). It fails
// the test when the Handler does not validate, with the runtime's message,
// or when stripe-mock cannot be started (run `make tools`). On a failed
// test, the Webhook's log lines are written to the test's log.
func NewWebhook[H any, P interface {
	*H
	dispatch.EnvCarrier
}](t testing.TB, proto H, opts ...Option) *Webhook {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	objs, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	m := secrets.Map{
		webhookhttp.WebhookSecret:  fixture.LocalSecret,
		stripeclient.KeySecret:     devtools.StripeMockKey,
		stripeclient.APIBaseSecret: objs.api,
	}
	maps.Copy(m, o.secrets)

	sink := &logSink{}
	log := bootstrap.NewLogger(sink, slog.LevelDebug)
	d, err := dispatch.New[H, P](proto, dispatch.WithLogger(log))
	if err != nil {
		t.Fatalf("dispatchtest.NewWebhook: the Handler does not validate (the function would refuse to start):\n%v", err)
	}
	var store dedup.Store
	if o.dedup {
		store = dedup.NewMemory(dedup.Options{})
	}
	deps := function.Deps{
		Secrets:   secrets.Static(m),
		Log:       log,
		Stripe:    stripeclient.NewCache(nil, log),
		RequestID: requestID,
	}
	w := &Webhook{
		t:       t,
		handler: bootstrap.NewWebhook(deps, d, store, 0),
		secrets: m,
		extra:   extraTypes(proto),
		logs:    sink,
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("dispatchtest: the webhook's log:\n%s", sink.text())
		}
	})
	return w
}

// extraTypes returns the ExtraEventTypes of proto, declared on its value
// or its pointer.
func extraTypes[H any](proto H) []string {
	if x, ok := any(&proto).(interface{ ExtraEventTypes() []string }); ok {
		return x.ExtraEventTypes()
	}
	return nil
}

// NewEvent returns an event of eventType as the package's NewEvent does,
// also for the types of the Handler's ExtraEventTypes (see ObjectKind for
// their data.object).
func (w *Webhook) NewEvent(eventType string) *Event {
	w.t.Helper()
	if !slices.Contains(dispatch.KnownEventTypes(), eventType) && !slices.Contains(w.extra, eventType) {
		w.t.Fatalf("dispatchtest: Webhook.NewEvent: %q is not an event type stripe-go v76 knows (dispatch.KnownEventTypes), nor one of the Handler's ExtraEventTypes %q", eventType, w.extra)
	}
	return newEventT(w.t, eventType)
}

// A Delivery is what became of one delivery of an event.
type Delivery struct {
	EventID, EventType string
	// Status is the HTTP status the webhook answered, which Stripe acts
	// on: 2xx acknowledges the event, anything else has it delivered again.
	Status int
	// Body is the response's body, e.g. {"status":"handled"}.
	Body string
	// Outcome is the pipeline's outcome, as its log line says: handled,
	// ignored, duplicate, in_progress, handler_error, handler_panic,
	// undecodable_object, bad_signature, ... (see the README's Operating).
	Outcome string
	// Method is the Handler's method that ran, or would have: the event's
	// own, "Default", or "" when none would.
	Method string
	// Logs are the log lines of the delivery, decoded, in the order they
	// were written: the method's (h.Log), the runtime's, and last the one
	// line of the delivery ("msg": "delivery"). Lines that name no
	// request (the runtime's warnings, say) are counted in every delivery
	// running when they were written.
	Logs []map[string]any
}

// Log returns the first of the delivery's log lines whose "msg" is msg,
// or nil.
func (d Delivery) Log(msg string) map[string]any {
	for _, l := range d.Logs {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// Deliver delivers e once, as Stripe does, and returns what became of it.
// Deliver fails the test only when the delivery could not be made; a
// delivery the webhook refuses or whose method fails is a Delivery like
// any other.
func (w *Webhook) Deliver(ctx context.Context, e *Event) Delivery {
	w.t.Helper()
	d, err := w.deliver(ctx, e)
	if err != nil {
		w.t.Fatalf("dispatchtest: delivering %s: %v", e.name(), err)
	}
	return d
}

// DeliverAll delivers the events one after the other, in order, and
// returns what became of each.
func (w *Webhook) DeliverAll(ctx context.Context, events ...*Event) []Delivery {
	w.t.Helper()
	ds := make([]Delivery, len(events))
	for i, e := range events {
		ds[i] = w.Deliver(ctx, e)
	}
	return ds
}

// DeliverConcurrently delivers the events at the same moment, each from
// its own goroutine, as Stripe sometimes delivers one event twice at once,
// and returns what became of each, in the order of events.
func (w *Webhook) DeliverConcurrently(ctx context.Context, events ...*Event) []Delivery {
	w.t.Helper()
	ds := make([]Delivery, len(events))
	errs := make([]error, len(events))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, e := range events {
		wg.Go(func() {
			<-start
			ds[i], errs[i] = w.deliver(ctx, e)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			w.t.Fatalf("dispatchtest: delivering %s: %v", events[i].name(), err)
		}
	}
	return ds
}

// Retry delivers e as Stripe retries an event: again while the answer is
// not 2xx, at most attempts times in all (without Stripe's waits between
// them). It returns every delivery made.
func (w *Webhook) Retry(ctx context.Context, e *Event, attempts int) []Delivery {
	w.t.Helper()
	if attempts < 1 {
		w.t.Fatalf("dispatchtest: Retry(%s, %d): want at least 1 attempt", e.name(), attempts)
	}
	var ds []Delivery
	for range attempts {
		d := w.Deliver(ctx, e)
		ds = append(ds, d)
		if d.Status >= 200 && d.Status < 300 {
			break
		}
	}
	return ds
}

// Duplicates returns e n times: one event delivered again, as Stripe does
// after a lost answer, a retry, or a resend.
func Duplicates(e *Event, n int) []*Event {
	events := make([]*Event, n)
	for i := range events {
		events[i] = e
	}
	return events
}

// Shuffle returns the events in an order the seed chooses, the same for
// the same seed: Stripe does not deliver events in the order they happened.
func Shuffle(seed uint64, events ...*Event) []*Event {
	out := slices.Clone(events)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// deliver makes one delivery; its error is the kit's, never the webhook's.
func (w *Webhook) deliver(ctx context.Context, e *Event) (Delivery, error) {
	body := e.JSON()
	rid := "dispatchtest-" + strconv.FormatInt(w.seq.Add(1), 10)
	req := httptest.NewRequestWithContext(context.WithValue(ctx, requestIDKey{}, rid), http.MethodPost, "/webhook", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	if list := w.secrets.List(webhookhttp.WebhookSecret); len(list) > 0 {
		req.Header.Set("Stripe-Signature", fixture.Sign(body, list[0], time.Now()))
	}
	if user, pass, ok := strings.Cut(w.secrets[webhookhttp.BasicAuthSecret], ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	start := w.logs.mark()
	rec := httptest.NewRecorder()
	w.handler.ServeHTTP(rec, req)
	d := Delivery{
		EventID:   e.ID(),
		EventType: e.Type(),
		Status:    rec.Code,
		Body:      rec.Body.String(),
		Logs:      w.logs.since(start, rid),
	}
	line := d.Log("delivery")
	if line == nil {
		return d, fmt.Errorf("the webhook wrote no delivery line (status %d, body %s)", d.Status, d.Body)
	}
	d.Outcome, _ = line["outcome"].(string)
	d.Method, _ = line["method"].(string)
	return d, nil
}

// requestIDKey carries a delivery's request id, as API Gateway's does in
// Lambda.
type requestIDKey struct{}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// logSink keeps the JSON lines the webhook's logger writes.
type logSink struct {
	mu    sync.Mutex
	lines [][]byte
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for line := range bytes.Lines(p) {
		if line = bytes.TrimSpace(line); len(line) > 0 {
			s.lines = append(s.lines, bytes.Clone(line))
		}
	}
	return len(p), nil
}

// mark returns the number of lines so far.
func (s *logSink) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.lines)
}

// since returns the lines after mark that name the request rid or none,
// decoded.
func (s *logSink) since(mark int, rid string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range s.lines[mark:] {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			m = map[string]any{"msg": string(line)}
		}
		if r, ok := m["request_id"]; ok && r != rid {
			continue
		}
		out = append(out, m)
	}
	return out
}

// text returns every line.
func (s *logSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(bytes.Join(s.lines, []byte("\n")))
}

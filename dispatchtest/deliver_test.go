package dispatchtest_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/dispatchtest"
	"stripetask/internal/fixture"
)

// shop is a Handler whose methods record their runs in a shared state.
type shop struct {
	dispatch.Env
	s *state
}

type state struct {
	mu       sync.Mutex
	runs     []string        // "<method> <event id>", in order
	failures map[string]int  // event id -> failures left before it succeeds
	stale    map[string]bool // event id -> what Stale said
	hold     time.Duration   // how long ChargeSucceeded takes
}

func newState() *state {
	return &state{failures: map[string]int{}, stale: map[string]bool{}}
}

func (s *state) ran(method, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, method+" "+id)
	if s.failures[id] > 0 {
		s.failures[id]--
		return errors.New("the warehouse is down")
	}
	return nil
}

func (s *state) count(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.runs {
		if strings.HasPrefix(r, method+" ") {
			n++
		}
	}
	return n
}

func (h *shop) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	customer := ""
	if c.Customer != nil {
		customer = c.Customer.ID
	}
	h.Log.Info("charge", "charge", c.ID, "amount", c.Amount, "customer", customer, "account", h.Event.Account, "slack", h.Secrets["SLACK_URL"])
	time.Sleep(h.s.hold)
	return h.s.ran("ChargeSucceeded", h.Event.ID)
}

func (h *shop) CustomerSubscriptionUpdated(ctx context.Context, sub *stripe.Subscription) error {
	stale, err := h.Stale(ctx)
	if err != nil {
		return err
	}
	h.s.mu.Lock()
	h.s.stale[h.Event.ID] = stale
	h.s.mu.Unlock()
	return h.s.ran("CustomerSubscriptionUpdated", h.Event.ID)
}

func (h *shop) InvoicePaid(ctx context.Context) error {
	panic("invoice.paid is not ready")
}

func (h *shop) CustomerCreated(ctx context.Context, c *stripe.Customer) error {
	params := &stripe.CustomerParams{Description: stripe.String("welcome")}
	params.Context = ctx
	params.SetIdempotencyKey(h.IdempotencyKey("welcome", c.ID))
	_, err := h.Stripe.Customers.Update(c.ID, params)
	return err
}

// TestDeliver checks one delivery: status, outcome, method, the log lines
// of that delivery only, with the event's changes and the chosen secrets.
func TestDeliver(t *testing.T) {
	s := newState()
	w := dispatchtest.NewWebhook(t, shop{s: s}, dispatchtest.WithSecrets(map[string]string{"SLACK_URL": "https://hooks.slack.example/1"}))
	e := w.NewEvent("charge.succeeded").
		Set("data.object.amount", 5000).
		Set("data.object.customer", "cus_X").
		Set("account", "acct_1")
	first := w.Deliver(t.Context(), e)
	d := w.Deliver(t.Context(), w.NewEvent("charge.succeeded"))
	if first.Status != 200 || first.Body != `{"status":"handled"}`+"\n" || first.Outcome != "handled" || first.Method != "ChargeSucceeded" || first.EventID != e.ID() || first.EventType != "charge.succeeded" {
		t.Fatalf("first delivery: %+v", first)
	}
	l := first.Log("charge")
	if l == nil || l["amount"] != 5000.0 || l["customer"] != "cus_X" || l["account"] != "acct_1" || l["slack"] != "https://hooks.slack.example/1" || l["event_id"] != e.ID() {
		t.Errorf("the method's line: %v", l)
	}
	if len(first.Logs) != 2 || first.Logs[1]["msg"] != "delivery" || first.Logs[1]["status"] != 200.0 {
		t.Errorf("first delivery's lines: %v", first.Logs)
	}
	if d.Log("charge")["event_id"] == e.ID() || d.Logs[len(d.Logs)-1]["event_id"] != d.EventID {
		t.Errorf("second delivery's lines are the first's: %v", d.Logs)
	}
	if first.Log("delivery")["request_id"] == d.Log("delivery")["request_id"] {
		t.Error("two deliveries, one request id")
	}
	if first.Log("no such line") != nil {
		t.Error("Log found a line that is not there")
	}
}

// TestDeliverFailures checks deliveries the webhook or the method fail.
func TestDeliverFailures(t *testing.T) {
	w := dispatchtest.NewWebhook(t, shop{s: newState()})
	tests := []struct {
		name            string
		e               *dispatchtest.Event
		status          int
		outcome, method string
	}{
		{"a panic", w.NewEvent("invoice.paid"), 500, "handler_panic", "InvoicePaid"},
		{"another kind of object", w.NewEvent("charge.succeeded").Set("data.object.object", "invoice"), 400, "undecodable_object", "ChargeSucceeded"},
		{"no method", w.NewEvent("payout.paid"), 200, "ignored", ""},
		{"not an event", w.NewEvent("charge.succeeded").Set("object", "charge"), 400, "not_event", ""},
		{"a Stripe call", w.NewEvent("customer.created"), 200, "handled", "CustomerCreated"},
	}
	for _, tt := range tests {
		d := w.Deliver(t.Context(), tt.e)
		if d.Status != tt.status || d.Outcome != tt.outcome || d.Method != tt.method {
			t.Errorf("%s: %d %s by %q, want %d %s by %q", tt.name, d.Status, d.Outcome, d.Method, tt.status, tt.outcome, tt.method)
		}
	}
	d := w.Deliver(t.Context(), w.NewEvent("invoice.paid"))
	if stack, _ := d.Log("delivery")["stack"].(string); !strings.Contains(stack, "invoice.paid is not ready") && !strings.Contains(d.Log("delivery")["error"].(string), "invoice.paid is not ready") {
		t.Errorf("the panic is not in the delivery line: %v", d.Log("delivery"))
	}
}

// TestSecrets checks the secrets a test chooses: another signing secret
// (during a rotation, the first signs), Basic auth, a Stripe key that
// Stripe refuses.
func TestSecrets(t *testing.T) {
	rotating := dispatchtest.NewWebhook(t, shop{s: newState()}, dispatchtest.WithSecrets(map[string]string{
		"STRIPE_WEBHOOK_SECRET": "whsec_new_0123456789, " + fixture.LocalSecret,
		"BASIC_AUTH":            "stripe:s3cret",
	}))
	if d := rotating.Deliver(t.Context(), rotating.NewEvent("charge.succeeded")); d.Outcome != "handled" {
		t.Errorf("signed and with Basic auth: %d %s", d.Status, d.Outcome)
	}
	basicOnly := dispatchtest.NewWebhook(t, shop{s: newState()}, dispatchtest.WithSecrets(map[string]string{
		"STRIPE_WEBHOOK_SECRET": "",
		"BASIC_AUTH":            "stripe:s3cret",
	}))
	if d := basicOnly.Deliver(t.Context(), basicOnly.NewEvent("charge.succeeded")); d.Outcome != "handled" {
		t.Errorf("Basic auth only: %d %s", d.Status, d.Outcome)
	}
	none := dispatchtest.NewWebhook(t, shop{s: newState()}, dispatchtest.WithSecrets(map[string]string{"STRIPE_WEBHOOK_SECRET": ""}))
	if d := none.Deliver(t.Context(), none.NewEvent("charge.succeeded")); d.Status != 503 || d.Outcome != "auth_not_configured" {
		t.Errorf("no authentication: %d %s", d.Status, d.Outcome)
	}
	badKey := dispatchtest.NewWebhook(t, shop{s: newState()}, dispatchtest.WithSecrets(map[string]string{"STRIPE_KEY": "not-a-key"}))
	d := badKey.Deliver(t.Context(), badKey.NewEvent("customer.created"))
	if d.Status != 500 || d.Outcome != "handler_error" {
		t.Errorf("a key stripe-mock refuses: %d %s", d.Status, d.Outcome)
	}
	if !strings.Contains(fmt.Sprint(d.Log("delivery")["error"]), "handler CustomerCreated") {
		t.Errorf("the delivery line does not name the failed method: %v", d.Log("delivery"))
	}
}

// TestDuplicates delivers one event three times: each time it runs
// without dedup, once with it.
func TestDuplicates(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []dispatchtest.Option
		want []string
	}{
		{"without dedup", nil, []string{"handled", "handled", "handled"}},
		{"with dedup", []dispatchtest.Option{dispatchtest.WithDedup()}, []string{"handled", "duplicate", "duplicate"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newState()
			w := dispatchtest.NewWebhook(t, shop{s: s}, tt.opts...)
			e := w.NewEvent("charge.succeeded")
			ds := w.DeliverAll(t.Context(), dispatchtest.Duplicates(e, 3)...)
			if got := outcomes(ds); !slices.Equal(got, tt.want) {
				t.Errorf("outcomes %q, want %q", got, tt.want)
			}
			if n, want := s.count("ChargeSucceeded"), strings.Count(strings.Join(tt.want, " "), "handled"); n != want {
				t.Errorf("the method ran %d times, want %d", n, want)
			}
			for _, d := range ds {
				if d.Status != 200 || d.EventID != e.ID() {
					t.Errorf("%+v", d)
				}
			}
		})
	}
}

func outcomes(ds []dispatchtest.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Outcome)
	}
	return out
}

// TestRetry fails a method twice: Stripe's retries get 500 until the
// third, which is handled; with dedup, each failed run was released.
func TestRetry(t *testing.T) {
	for _, opts := range [][]dispatchtest.Option{nil, {dispatchtest.WithDedup()}} {
		s := newState()
		w := dispatchtest.NewWebhook(t, shop{s: s}, opts...)
		e := w.NewEvent("charge.succeeded")
		s.failures[e.ID()] = 2
		ds := w.Retry(t.Context(), e, 5)
		if got, want := outcomes(ds), []string{"handler_error", "handler_error", "handled"}; !slices.Equal(got, want) {
			t.Errorf("dedup %v: outcomes %q, want %q", opts != nil, got, want)
		}
		if ds[0].Status != 500 || ds[2].Status != 200 || !strings.Contains(fmt.Sprint(ds[0].Log("delivery")["error"]), "the warehouse is down") {
			t.Errorf("dedup %v: %+v", opts != nil, ds[0])
		}
		if again := w.Deliver(t.Context(), e); opts != nil && again.Outcome != "duplicate" {
			t.Errorf("a delivery after the success: %s, want duplicate", again.Outcome)
		}
		// Retry stops at its attempts.
		e = w.NewEvent("charge.succeeded")
		s.failures[e.ID()] = 10
		if ds := w.Retry(t.Context(), e, 2); len(ds) != 2 || ds[1].Status != 500 {
			t.Errorf("Retry with 2 attempts made %d deliveries", len(ds))
		}
	}
}

// TestShuffle checks that Shuffle is a permutation fixed by its seed.
func TestShuffle(t *testing.T) {
	var events []*dispatchtest.Event
	for range 8 {
		events = append(events, dispatchtest.NewEvent(t, "charge.succeeded"))
	}
	ids := func(es []*dispatchtest.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.ID())
		}
		return out
	}
	a, b, c := ids(dispatchtest.Shuffle(1, events...)), ids(dispatchtest.Shuffle(1, events...)), ids(dispatchtest.Shuffle(2, events...))
	if !slices.Equal(a, b) {
		t.Errorf("seed 1 gave %q then %q", a, b)
	}
	if slices.Equal(a, c) || slices.Equal(a, ids(events)) {
		t.Errorf("seeds 1 and 2 gave %q and %q from %q", a, c, ids(events))
	}
	sorted := slices.Clone(a)
	slices.Sort(sorted)
	all := ids(events)
	slices.Sort(all)
	if !slices.Equal(sorted, all) {
		t.Errorf("not a permutation: %q of %q", a, all)
	}
	if got := ids(events); got[0] != events[0].ID() {
		t.Error("Shuffle reordered its argument")
	}
}

// TestOutOfOrder delivers three updates of one subscription, created a
// minute apart, in shuffled orders: with dedup, Stale tells each method
// whether a newer update was handled before it.
func TestOutOfOrder(t *testing.T) {
	for seed := range uint64(4) {
		s := newState()
		w := dispatchtest.NewWebhook(t, shop{s: s}, dispatchtest.WithDedup())
		now := time.Now().Unix()
		var updates []*dispatchtest.Event
		for i := range 3 {
			updates = append(updates, w.NewEvent("customer.subscription.updated").
				Set("created", now+int64(60*i)).
				Set("data.object.id", "sub_ordered"))
		}
		order := dispatchtest.Shuffle(seed, updates...)
		ds := w.DeliverAll(t.Context(), order...)
		newest := int64(0)
		for i, e := range order {
			created := int64(e.Get("created").(float64))
			if ds[i].Outcome != "handled" {
				t.Fatalf("seed %d: %s", seed, ds[i].Outcome)
			}
			if want := created < newest; s.stale[e.ID()] != want {
				t.Errorf("seed %d: update created at +%ds, after one at +%ds: Stale %v, want %v", seed, created-now, newest-now, s.stale[e.ID()], want)
			}
			newest = max(newest, created)
		}
	}
}

// TestDeliverConcurrently delivers one event twice at the same moment:
// with dedup, one delivery runs the method and the other is told to come
// back later (409), as when Stripe delivers twice at once.
func TestDeliverConcurrently(t *testing.T) {
	s := newState()
	s.hold = 500 * time.Millisecond
	w := dispatchtest.NewWebhook(t, shop{s: s}, dispatchtest.WithDedup())
	e := w.NewEvent("charge.succeeded")
	ds := w.DeliverConcurrently(t.Context(), e, e)
	got := outcomes(ds)
	slices.Sort(got)
	if !slices.Equal(got, []string{"handled", "in_progress"}) {
		t.Fatalf("outcomes %q, want one handled and one in_progress", got)
	}
	for _, d := range ds {
		if d.Outcome == "in_progress" && d.Status != 409 {
			t.Errorf("in_progress answered %d, want 409", d.Status)
		}
		if n := len(d.Logs); n == 0 || d.Logs[n-1]["outcome"] != d.Outcome {
			t.Errorf("the delivery's own line is not last: %v", d.Logs)
		}
	}
	if n := s.count("ChargeSucceeded"); n != 1 {
		t.Errorf("the method ran %d times", n)
	}
	if d := w.Deliver(t.Context(), e); d.Outcome != "duplicate" {
		t.Errorf("the retry of the 409: %s, want duplicate", d.Outcome)
	}
}

// TestNewWebhookRefusesInvalidHandler checks that a Handler the runtime
// would refuse fails the test with the runtime's message.
func TestNewWebhookRefusesInvalidHandler(t *testing.T) {
	ft := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		dispatchtest.NewWebhook(ft, misspelled{})
	}()
	<-done
	if !strings.Contains(ft.msg, "the Handler does not validate") || !strings.Contains(ft.msg, "did you mean ChargeSucceeded (charge.succeeded)?") {
		t.Errorf("got %q", ft.msg)
	}
}

type misspelled struct{ dispatch.Env }

func (h *misspelled) ChargeSuceeded(ctx context.Context, c *stripe.Charge) error { return nil }

// fatalTB records the message of Fatalf and ends the goroutine.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

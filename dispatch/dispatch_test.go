package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

// good is a Handler using every accepted shape.
type good struct {
	Env
	Tag   string // set on the prototype: must reach every copy
	calls *calls
}

type calls struct {
	mu   sync.Mutex
	seen []string
	envs []*Env
}

func (c *calls) add(s string, e *Env) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, s)
	c.envs = append(c.envs, e)
}

func (h *good) Init(ctx context.Context) error {
	h.Tag += "+init"
	if h.Secrets["FAIL_INIT"] != "" {
		return errors.New("init refused")
	}
	if h.Secrets["PANIC_INIT"] != "" {
		panic("init exploded")
	}
	return nil
}

func (h *good) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	customer := ""
	if c.Customer != nil {
		customer = c.Customer.ID
	}
	h.calls.add(fmt.Sprintf("ChargeSucceeded %s %d %s tag=%s objectnil=%v", c.ID, c.Amount, customer, h.Tag, h.Event.Data.Object == nil), &h.Env)
	switch c.Description {
	case "fail":
		return errors.New("boom")
	case "panic":
		panic("kaboom")
	}
	return nil
}

// A value receiver works too.
func (h good) InvoicePaid(ctx context.Context) error {
	h.calls.add(fmt.Sprintf("InvoicePaid %s customer=%v", h.Event.ID, h.Event.Data.Object["customer"]), nil)
	return nil
}

func (h *good) CustomerTaxIDCreated(ctx context.Context, t *stripe.TaxID) error {
	h.calls.add("CustomerTaxIDCreated "+t.Value, nil)
	return nil
}

func (h *good) BillingAlertTriggered(ctx context.Context) error {
	h.calls.add("BillingAlertTriggered "+string(h.Event.Type), nil)
	return nil
}

func (good) ExtraEventTypes() []string { return []string{"billing.alert.triggered"} }

// helper is exported but has no handler shape: ignored.
func (h *good) Helper(x int) string { return fmt.Sprint(x) }

// withDefault adds Default to good.
type withDefault struct {
	Env
	calls *calls
}

func (h *withDefault) ChargeRefunded(ctx context.Context, c *stripe.Charge) error { return nil }
func (h *withDefault) Default(ctx context.Context) error {
	h.calls.add("Default "+string(h.Event.Type)+" "+h.Event.GetObjectValue("id"), nil)
	return nil
}

func newGood(t *testing.T, opts ...Option) (*Dispatcher, *calls) {
	t.Helper()
	c := &calls{}
	d, err := New(good{Tag: "proto", calls: c}, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := d.Init(context.Background(), Env{}); err != nil {
		t.Fatalf("Init: %v", err)
	}
	return d, c
}

func event(typ, object string) []byte {
	return []byte(fmt.Sprintf(`{"id":"evt_1","object":"event","api_version":%q,"created":1700000000,"livemode":false,"pending_webhooks":1,"request":{"id":"req_1","idempotency_key":"k"},"type":%q,"data":{"object":%s}}`, stripe.APIVersion, typ, object))
}

func TestRunTyped(t *testing.T) {
	d, c := newGood(t)
	dl, err := d.Decode(event("charge.succeeded", `{"id":"ch_1","object":"charge","amount":2000,"customer":"cus_9"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := dl.Method(); got != "ChargeSucceeded" {
		t.Fatalf("Method() = %q", got)
	}
	e := dl.Event
	if e.ID != "evt_1" || e.Type != "charge.succeeded" || e.Created != 1700000000 || e.Request.ID != "req_1" || e.PendingWebhooks != 1 || e.APIVersion != stripe.APIVersion {
		t.Fatalf("envelope not decoded: %+v", e)
	}
	if string(e.Data.Raw) != `{"id":"ch_1","object":"charge","amount":2000,"customer":"cus_9"}` {
		t.Fatalf("Data.Raw = %s", e.Data.Raw)
	}
	if err := d.Run(context.Background(), dl, Env{Secrets: map[string]string{"A": "b"}}); err != nil {
		t.Fatal(err)
	}
	want := "ChargeSucceeded ch_1 2000 cus_9 tag=proto+init objectnil=true"
	if len(c.seen) != 1 || c.seen[0] != want {
		t.Fatalf("calls = %q, want %q", c.seen, want)
	}
	env := c.envs[0]
	if env.Secrets["A"] != "b" || env.Event != dl.Event || env.Log == nil {
		t.Fatalf("Env not set: %+v", env)
	}
}

func TestRunEnvelopeFillsObject(t *testing.T) {
	d, c := newGood(t)
	dl, err := d.Decode(event("invoice.paid", `{"id":"in_1","object":"invoice","customer":"cus_2"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), dl, Env{}); err != nil {
		t.Fatal(err)
	}
	if want := "InvoicePaid evt_1 customer=cus_2"; c.seen[0] != want {
		t.Fatalf("got %q, want %q", c.seen[0], want)
	}
}

func TestRunExtraAndInitialismTypes(t *testing.T) {
	d, c := newGood(t)
	for _, typ := range []string{"customer.tax_id.created", "billing.alert.triggered"} {
		dl, err := d.Decode(event(typ, `{"id":"txi_1","object":"tax_id","value":"DE123"}`))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Run(context.Background(), dl, Env{}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"CustomerTaxIDCreated DE123", "BillingAlertTriggered billing.alert.triggered"}; strings.Join(c.seen, "|") != strings.Join(want, "|") {
		t.Fatalf("calls = %q, want %q", c.seen, want)
	}
}

func TestIgnoredAndDefault(t *testing.T) {
	d, c := newGood(t)
	dl, err := d.Decode(event("payout.paid", `{"id":"po_1"}`))
	if err != nil {
		t.Fatal(err)
	}
	if dl.Method() != "" {
		t.Fatalf("Method() = %q, want none", dl.Method())
	}
	if err := d.Run(context.Background(), dl, Env{}); err != nil || len(c.seen) != 0 {
		t.Fatalf("ignored event ran: err %v, calls %q", err, c.seen)
	}

	c2 := &calls{}
	dd, err := New(withDefault{calls: c2})
	if err != nil {
		t.Fatal(err)
	}
	if !dd.HasDefault() || strings.Join(dd.EventTypes(), ",") != "charge.refunded" {
		t.Fatalf("HasDefault %v, EventTypes %q", dd.HasDefault(), dd.EventTypes())
	}
	dl, _ = dd.Decode(event("payout.paid", `{"id":"po_1"}`))
	if dl.Method() != "Default" {
		t.Fatalf("Method() = %q, want Default", dl.Method())
	}
	if err := dd.Run(context.Background(), dl, Env{}); err != nil {
		t.Fatal(err)
	}
	if want := "Default payout.paid po_1"; len(c2.seen) != 1 || c2.seen[0] != want {
		t.Fatalf("calls = %q, want %q", c2.seen, want)
	}
}

func TestRunErrors(t *testing.T) {
	d, _ := newGood(t)
	run := func(object string) error {
		dl, err := d.Decode(event("charge.succeeded", object))
		if err != nil {
			t.Fatal(err)
		}
		return d.Run(context.Background(), dl, Env{})
	}

	err := run(`{"id":"ch_1","description":"fail"}`)
	var he *HandlerError
	if !errors.As(err, &he) || he.Method != "ChargeSucceeded" || he.Err.Error() != "boom" {
		t.Fatalf("handler error: got %v", err)
	}

	err = run(`{"id":"ch_1","description":"panic"}`)
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "kaboom" || !strings.Contains(string(pe.Stack), "ChargeSucceeded") {
		t.Fatalf("panic: got %v", err)
	}

	err = run(`{"id":"ch_1","amount":"not a number"}`)
	if !errors.Is(err, ErrDecodeObject) {
		t.Fatalf("decode: got %v, want ErrDecodeObject", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	d, _ := newGood(t)
	tests := []struct {
		name string
		body string
		want error
	}{
		{"empty", ``, ErrMalformed},
		{"not json", `{"id":`, ErrMalformed},
		{"array", `[1,2]`, ErrNotEvent},
		{"string", `"evt"`, ErrNotEvent},
		{"no id", `{"object":"event","type":"charge.succeeded","data":{"object":{}}}`, ErrNotEvent},
		{"no type", `{"id":"evt_1","object":"event","data":{"object":{}}}`, ErrNotEvent},
		{"no data", `{"id":"evt_1","object":"event","type":"charge.succeeded"}`, ErrNotEvent},
		{"object not an object", `{"id":"evt_1","object":"event","type":"charge.succeeded","data":{"object":"ch_1"}}`, ErrNotEvent},
		{"null object", `{"id":"evt_1","type":"charge.succeeded","data":{"object":null}}`, ErrNotEvent},
		{"other object", `{"id":"ch_1","object":"charge","type":"charge.succeeded","data":{"object":{}}}`, ErrNotEvent},
		{"wrong field type", `{"id":7,"type":"charge.succeeded","data":{"object":{}}}`, ErrNotEvent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.Decode([]byte(tt.body))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode(%s) = %v, want %v", tt.body, err, tt.want)
			}
		})
	}
}

func TestAPIVersion(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewTextHandler(&logs, nil))
	body := func(v string) []byte {
		return []byte(`{"id":"evt_1","object":"event","api_version":"` + v + `","type":"charge.succeeded","data":{"object":{"id":"ch_1"}}}`)
	}
	d, _ := newGood(t, WithLogger(log))
	for range 3 {
		if _, err := d.Decode(body("2020-08-27")); err != nil {
			t.Fatalf("lenient mode refused: %v", err)
		}
	}
	if _, err := d.Decode(body("2022-11-15")); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Decode(body("")); err != nil { // stripe-mock's events have none
		t.Fatal(err)
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 2 {
		t.Fatalf("want one warning per version (2), got %d:\n%s", n, logs.String())
	}

	strict, _ := newGood(t, StrictAPIVersion(true))
	dl, err := strict.Decode(body("2020-08-27"))
	if !errors.Is(err, ErrAPIVersion) || dl == nil || dl.Event.ID != "evt_1" {
		t.Fatalf("strict: got %v, %v", dl, err)
	}
	if _, err := strict.Decode(body(stripe.APIVersion)); err != nil {
		t.Fatalf("strict refused its own version: %v", err)
	}
}

func TestCopiesPerEvent(t *testing.T) {
	d, c := newGood(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			dl, err := d.Decode(event("charge.succeeded", fmt.Sprintf(`{"id":"ch_%d"}`, i)))
			if err != nil {
				t.Error(err)
				return
			}
			if err := d.Run(context.Background(), dl, Env{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[*Env]bool{}
	for _, e := range c.envs {
		if seen[e] {
			t.Fatal("two events shared one Env")
		}
		seen[e] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d runs, want 20", len(seen))
	}
}

func TestInitError(t *testing.T) {
	d, err := New(good{calls: &calls{}})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Init(context.Background(), Env{Secrets: map[string]string{"FAIL_INIT": "1"}})
	if !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "init refused") {
		t.Fatalf("got %v", err)
	}
}

// TestInitFailureLeavesPrototype checks that a failed Init, by error or by
// panic, leaves no field behind: the retry starts from the prototype as it
// was, and events see exactly one Init's work.
func TestInitFailureLeavesPrototype(t *testing.T) {
	c := &calls{}
	d, err := New(good{Tag: "proto", calls: c})
	if err != nil {
		t.Fatal(err)
	}
	err = d.Init(context.Background(), Env{Secrets: map[string]string{"FAIL_INIT": "1"}})
	if !errors.Is(err, ErrInit) {
		t.Fatalf("failing Init: %v", err)
	}
	err = d.Init(context.Background(), Env{Secrets: map[string]string{"PANIC_INIT": "1"}})
	if _, ok := errors.AsType[*PanicError](err); !ok || !errors.Is(err, ErrInit) || !strings.Contains(err.Error(), "init exploded") {
		t.Fatalf("panicking Init: %v", err)
	}
	if err := d.Init(context.Background(), Env{Secrets: map[string]string{"X": "y"}}); err != nil {
		t.Fatal(err)
	}
	dl, err := d.Decode(event("charge.succeeded", `{"id":"ch_1","object":"charge"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), dl, Env{}); err != nil {
		t.Fatal(err)
	}
	if want := "tag=proto+init "; len(c.seen) != 1 || !strings.Contains(c.seen[0], want) {
		t.Fatalf("calls = %q, want one with %q", c.seen, want)
	}
	if c.envs[0].Secrets != nil {
		t.Fatalf("Init's Env leaked into the event's: %v", c.envs[0].Secrets)
	}
}

// TestWarmDecoders checks that warming the decoders of every typed method
// leaves decoding as it was.
func TestWarmDecoders(t *testing.T) {
	d, c := newGood(t)
	d.WarmDecoders()
	dl, err := d.Decode(event("charge.succeeded", `{"id":"ch_1","object":"charge","amount":2000}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background(), dl, Env{}); err != nil || len(c.seen) != 1 || !strings.HasPrefix(c.seen[0], "ChargeSucceeded ch_1 2000") {
		t.Fatalf("after WarmDecoders: %v %q", err, c.seen)
	}
}

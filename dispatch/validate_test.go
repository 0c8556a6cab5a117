package dispatch

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"
)

type misspelled struct{ Env }

func (h *misspelled) ChargeSuceeded(ctx context.Context, c *stripe.Charge) error { return nil }

type farOff struct{ Env }

func (h *farOff) Reconcile(ctx context.Context) error { return nil }

type notPointer struct{ Env }

func (h *notPointer) ChargeSucceeded(ctx context.Context, c stripe.Charge) error { return nil }

type notStripe struct{ Env }

type myCharge struct{ ID string }

func (h *notStripe) ChargeSucceeded(ctx context.Context, c *myCharge) error { return nil }

type wrongObject struct{ Env }

func (h *wrongObject) ChargeSucceeded(ctx context.Context, c *stripe.Invoice) error { return nil }

type noContext struct{ Env }

func (h *noContext) ChargeSucceeded(c *stripe.Charge) error { return nil }

type noError struct{ Env }

func (h *noError) InvoicePaid(ctx context.Context) {}

type badDefault struct{ Env }

func (h *badDefault) Default(ctx context.Context, e *stripe.Event) error { return nil }

type badInit struct{ Env }

func (h *badInit) Init() error { return nil }

type untypedLegacy struct{ Env }

func (h *untypedLegacy) SKUCreated(ctx context.Context, p *stripe.Price) error { return nil }

type dupExtra struct{ Env }

func (dupExtra) ExtraEventTypes() []string { return []string{"foo.bar_baz", "foo_bar.baz"} }

type knownExtra struct{ Env }

func (knownExtra) ExtraEventTypes() []string {
	return []string{"charge.succeeded", "Bad Type", "x.y", "x.y"}
}

type badExtraShape struct{ Env }

func (badExtraShape) ExtraEventTypes() string { return "x.y" }

type several struct{ Env }

func (h *several) ChargeSuceeded(ctx context.Context) error                      { return nil }
func (h *several) InvoicePaid(ctx context.Context, i *stripe.Charge) error       { return nil }
func (h *several) CustomerCreated(ctx context.Context, c *stripe.Customer) error { return nil }

type pointerEnv struct{ *Env }

func TestStartupValidation(t *testing.T) {
	tests := []struct {
		name     string
		new      func() (*Dispatcher, error)
		sentinel error
		want     []string // substrings of the error
	}{
		{"misspelled", func() (*Dispatcher, error) { return New(misspelled{}) }, ErrUnknownEvent,
			[]string{"dispatch.misspelled.ChargeSuceeded", "did you mean ChargeSucceeded (charge.succeeded)?"}},
		{"nothing close", func() (*Dispatcher, error) { return New(farOff{}) }, ErrUnknownEvent,
			[]string{"farOff.Reconcile", "no event type is close", "ExtraEventTypes"}},
		{"struct not pointer", func() (*Dispatcher, error) { return New(notPointer{}) }, ErrObjectType,
			[]string{"must be a pointer to a stripe-go type, like *stripe.Charge; have stripe.Charge"}},
		{"not a stripe type", func() (*Dispatcher, error) { return New(notStripe{}) }, ErrObjectType,
			[]string{"have *dispatch.myCharge"}},
		{"wrong stripe type", func() (*Dispatcher, error) { return New(wrongObject{}) }, ErrObjectType,
			[]string{"charge.succeeded carries *stripe.Charge, not *stripe.Invoice"}},
		{"no context", func() (*Dispatcher, error) { return New(noContext{}) }, ErrShape,
			[]string{"noContext.ChargeSucceeded", "have func ChargeSucceeded(*dispatch.noContext, *stripe.Charge) error"}},
		{"no error result", func() (*Dispatcher, error) { return New(noError{}) }, ErrShape,
			[]string{"noError.InvoicePaid"}},
		{"bad Default", func() (*Dispatcher, error) { return New(badDefault{}) }, ErrShape,
			[]string{"want func (h *Handler) Default(ctx context.Context) error"}},
		{"bad Init", func() (*Dispatcher, error) { return New(badInit{}) }, ErrShape,
			[]string{"want func (h *Handler) Init(ctx context.Context) error"}},
		{"legacy object without a type", func() (*Dispatcher, error) { return New(untypedLegacy{}) }, ErrObjectType,
			[]string{"stripe-go v76 has no type for the object sku.created carries"}},
		{"two types, one method", func() (*Dispatcher, error) { return New(dupExtra{}) }, ErrDuplicate,
			[]string{`event types "foo.bar_baz" and "foo_bar.baz" both map to method FooBarBaz`}},
		{"bad extra types", func() (*Dispatcher, error) { return New(knownExtra{}) }, ErrEventType,
			[]string{`"charge.succeeded" is already known`, `"Bad Type" is not an event type`, `"x.y" is listed twice`}},
		{"bad ExtraEventTypes shape", func() (*Dispatcher, error) { return New(badExtraShape{}) }, ErrShape,
			[]string{"want func (h Handler) ExtraEventTypes() []string"}},
		{"all problems at once", func() (*Dispatcher, error) { return New(several{}) }, ErrUnknownEvent,
			[]string{"2 problem(s)", "ChargeSuceeded", "InvoicePaid: method takes the wrong object type: invoice.paid carries *stripe.Invoice, not *stripe.Charge"}},
		{"Env by pointer", func() (*Dispatcher, error) { return New(pointerEnv{}) }, ErrHandlerType,
			[]string{"embedded by value"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.new()
			if err == nil || d != nil {
				t.Fatalf("New accepted the handler")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error does not wrap %v: %v", tt.sentinel, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestMethodErrorUnwraps(t *testing.T) {
	_, err := New(misspelled{})
	var me *MethodError
	if !errors.As(err, &me) || me.Method != "ChargeSuceeded" || me.Type != "dispatch.misspelled" {
		t.Fatalf("got %#v", me)
	}
}

func TestMethodName(t *testing.T) {
	tests := map[string]string{
		"charge.succeeded":                "ChargeSucceeded",
		"invoice.payment_failed":          "InvoicePaymentFailed",
		"invoiceitem.created":             "InvoiceItemCreated",
		"customer.tax_id.created":         "CustomerTaxIDCreated",
		"checkout.session.completed":      "CheckoutSessionCompleted",
		"billing.alert.triggered":         "BillingAlertTriggered",         // unknown to v76: CamelCase
		"entitlements.active_entitlement": "EntitlementsActiveEntitlement", // unknown to v76
		"v2.core.account_id.updated":      "V2CoreAccountIDUpdated",
	}
	for in, want := range tests {
		if got := MethodName(in); got != want {
			t.Errorf("MethodName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := &Env{Event: &stripe.Event{ID: "evt_123"}}
	if got, want := e.IdempotencyKey("refund", "ch_1"), "stripetask:evt_123:refund:ch_1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if e.IdempotencyKey("a") == e.IdempotencyKey("b") {
		t.Error("different parts gave one key")
	}
	other := &Env{Event: &stripe.Event{ID: "evt_456"}}
	if e.IdempotencyKey("a") == other.IdempotencyKey("a") {
		t.Error("different events gave one key")
	}
	long := e.IdempotencyKey(strings.Repeat("x", 300))
	if len(long) > 255 || long != e.IdempotencyKey(strings.Repeat("x", 300)) || !strings.HasPrefix(long, "stripetask:") {
		t.Errorf("long key %q (%d chars) not bounded or not stable", long, len(long))
	}
	if got := (&Env{}).IdempotencyKey("init"); got != "stripetask:init" {
		t.Errorf("no event: got %q", got)
	}
}

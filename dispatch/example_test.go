package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
)

// deliver decodes body and runs its method, as the runtime does for every
// authenticated event.
func deliver(d *dispatch.Dispatcher, body string) {
	dl, err := d.Decode([]byte(body))
	if err != nil {
		fmt.Println("decode:", err)
		return
	}
	if dl.Method() == "" {
		fmt.Println("ignored:", dl.Event.Type)
		return
	}
	if err := d.Run(context.Background(), dl, dispatch.Env{}); err != nil {
		fmt.Println("run:", err)
	}
}

// Shop handles payments: one method per event type, named after it.
type Shop struct {
	dispatch.Env
}

// ChargeSucceeded gets charge.succeeded's data.object as a *stripe.Charge.
func (h *Shop) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	fmt.Printf("%s: charge %s for %d %s\n", h.Event.Type, c.ID, c.Amount, c.Currency)
	return nil
}

// A typed method: the event's data.object, decoded once into the stripe-go
// type the event carries. Events without a method are ignored.
func Example_typedMethod() {
	d, err := dispatch.New(Shop{})
	if err != nil {
		panic(err)
	}
	deliver(d, `{"id":"evt_1","object":"event","type":"charge.succeeded",
		"data":{"object":{"id":"ch_1","object":"charge","amount":2000,"currency":"eur"}}}`)
	deliver(d, `{"id":"evt_2","object":"event","type":"customer.created",
		"data":{"object":{"id":"cus_1","object":"customer"}}}`)
	// Output:
	// charge.succeeded: charge ch_1 for 2000 eur
	// ignored: customer.created
}

// Billing reads only the envelope of invoice.paid.
type Billing struct {
	dispatch.Env
}

// InvoicePaid takes no object: h.Event holds the envelope, and
// h.Event.Data.Object the object as a map.
func (h *Billing) InvoicePaid(ctx context.Context) error {
	fmt.Println(h.Event.ID, "paid by", h.Event.GetObjectValue("customer"))
	return nil
}

// An envelope-only method: for events whose object can be of several
// kinds, or when only a field or two matter.
func Example_envelopeOnly() {
	d, err := dispatch.New(Billing{})
	if err != nil {
		panic(err)
	}
	deliver(d, `{"id":"evt_3","object":"event","type":"invoice.paid",
		"data":{"object":{"id":"in_1","object":"invoice","customer":"cus_42"}}}`)
	// Output:
	// evt_3 paid by cus_42
}

// Audit logs every event it has no method for.
type Audit struct {
	dispatch.Env
}

// Default receives every event without a method of its own.
func (h *Audit) Default(ctx context.Context) error {
	fmt.Println("audit:", h.Event.Type, h.Event.GetObjectValue("id"))
	return nil
}

// Default: a catch-all for the events that have no method.
func Example_default() {
	d, err := dispatch.New(Audit{})
	if err != nil {
		panic(err)
	}
	deliver(d, `{"id":"evt_4","object":"event","type":"customer.created",
		"data":{"object":{"id":"cus_1","object":"customer"}}}`)
	// Output:
	// audit: customer.created cus_1
}

// Warehouse connects to its inventory once per cold start.
type Warehouse struct {
	dispatch.Env
	orders *http.Client // set by Init, shared by every event
	url    string
}

// Init runs once, before the first event, with h.Secrets and h.Stripe set.
func (h *Warehouse) Init(ctx context.Context) error {
	if h.Secrets["WAREHOUSE_URL"] == "" {
		return errors.New("WAREHOUSE_URL is not set")
	}
	h.orders = &http.Client{Timeout: 5 * time.Second}
	h.url = h.Secrets["WAREHOUSE_URL"]
	return nil
}

// CheckoutSessionCompleted uses what Init prepared.
func (h *Warehouse) CheckoutSessionCompleted(ctx context.Context, s *stripe.CheckoutSession) error {
	fmt.Println("ship", s.ID, "through", h.url, "client ready:", h.orders != nil)
	return nil
}

// Init: prepare what every event shares (a client, a pool) once. Fields
// Init sets are copied into every event's Handler; a failed Init leaves
// none behind and is tried again.
func Example_init() {
	d, err := dispatch.New(Warehouse{})
	if err != nil {
		panic(err)
	}
	err = d.Init(context.Background(), dispatch.Env{})
	fmt.Println(err)
	err = d.Init(context.Background(), dispatch.Env{Secrets: map[string]string{"WAREHOUSE_URL": "https://wh.example"}})
	fmt.Println(err)
	deliver(d, `{"id":"evt_5","object":"event","type":"checkout.session.completed",
		"data":{"object":{"id":"cs_1","object":"checkout.session"}}}`)
	// Output:
	// handler Init failed: WAREHOUSE_URL is not set
	// <nil>
	// ship cs_1 through https://wh.example client ready: true
}

// Alerts handles an event type newer than stripe-go v76.
type Alerts struct {
	dispatch.Env
}

// ExtraEventTypes declares the event types stripe-go v76 does not know.
func (Alerts) ExtraEventTypes() []string { return []string{"billing.alert.triggered"} }

// BillingAlertTriggered is named after billing.alert.triggered; its object
// has no stripe-go v76 type, so it reads the envelope.
func (h *Alerts) BillingAlertTriggered(ctx context.Context) error {
	fmt.Println("alert for", h.Event.GetObjectValue("customer"))
	return nil
}

// ExtraEventTypes: methods for event types stripe-go v76 does not know.
func Example_extraEventTypes() {
	d, err := dispatch.New(Alerts{})
	if err != nil {
		panic(err)
	}
	fmt.Println(d.EventTypes())
	deliver(d, `{"id":"evt_6","object":"event","type":"billing.alert.triggered",
		"data":{"object":{"object":"billing.alert_triggered","customer":"cus_7"}}}`)
	// Output:
	// [billing.alert.triggered]
	// alert for cus_7
}

// Typo has a misspelled method.
type Typo struct {
	dispatch.Env
}

func (h *Typo) ChargeSuceeded(ctx context.Context, c *stripe.Charge) error { return nil }

// New refuses a Handler whose methods do not match an event type, naming
// the fix: a misspelled handler is never silently ignored.
func ExampleNew() {
	_, err := dispatch.New(Typo{})
	fmt.Println(strings.SplitN(err.Error(), "\n", 2)[1])
	fmt.Println(errors.Is(err, dispatch.ErrUnknownEvent))
	// Output:
	// dispatch_test.Typo.ChargeSuceeded: no event type has this method's name: did you mean ChargeSucceeded (charge.succeeded)?
	// true
}

// IdempotencyKey gives a Stripe write made while handling an event the same
// key on every redelivery of the event, so Stripe applies it once.
func ExampleEnv_IdempotencyKey() {
	e := dispatch.Env{Event: &stripe.Event{ID: "evt_1NG8Du2eZvKYlo2CUI79vXWy"}}
	fmt.Println(e.IdempotencyKey("refund", "ch_1"))
	// Output:
	// stripetask:evt_1NG8Du2eZvKYlo2CUI79vXWy:refund:ch_1
}

package dispatchtest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/dispatchtest"
)

// Handler is the examples' Handler, as handler/handler.go declares one.
type Handler struct {
	dispatch.Env
	// flaky, when set, fails the first charge.succeeded of each event.
	flaky map[string]bool
}

// ChargeSucceeded logs the payment.
func (h *Handler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	if h.flaky != nil && !h.flaky[h.Event.ID] {
		h.flaky[h.Event.ID] = true
		return errors.New("the ledger is down")
	}
	h.Log.Info("payment received", "charge", c.ID, "amount", c.Amount, "currency", c.Currency)
	return nil
}

// t stands for the *testing.T of the test function the examples' bodies
// would be in: func TestChargeSucceeded(t *testing.T) { ... }.
var t testing.TB = exampleT{}

// exampleT is a testing.TB for examples: failures panic, cleanups never
// run.
type exampleT struct{ testing.TB }

func (exampleT) Helper()                           {}
func (exampleT) Context() context.Context          { return context.Background() }
func (exampleT) Cleanup(func())                    {}
func (exampleT) Failed() bool                      { return false }
func (exampleT) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (exampleT) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// A test of a Handler method: a realistic charge.succeeded, with the amount
// the test needs, delivered through the webhook's real path.
func Example() {
	w := dispatchtest.NewWebhook(t, Handler{})
	e := w.NewEvent("charge.succeeded").Set("data.object.amount", 5000)

	d := w.Deliver(t.Context(), e)
	fmt.Println(d.Status, d.Outcome, d.Method)
	line := d.Log("payment received")
	fmt.Println(line["charge"], line["amount"], line["currency"])
	// Output:
	// 200 handled ChargeSucceeded
	// ch_1PgafuB7WZ01zgkWXYmPNZs8 5000 usd
}

// Set changes any member of an event by its path.
func ExampleEvent_Set() {
	e := dispatchtest.NewEvent(t, "invoice.payment_failed").
		Set("data.object.customer", "cus_X").
		Set("data.object.amount_due", 900).
		Set("data.object.lines.data[0].amount", 900).
		Set("data.object.metadata.order_id", "1042").
		Set("account", "acct_1")
	fmt.Println(e.Type(), e.Get("data.object.object"), e.Get("data.object.customer"), e.Get("data.object.amount_due"))
	fmt.Println(e.Get("data.object.lines.data.0.amount"), e.Get("data.object.metadata"), e.Get("account"))
	// Output:
	// invoice.payment_failed invoice cus_X 900
	// 900 map[order_id:1042] acct_1
}

// Edit changes data.object through its stripe-go type; every member it
// does not change keeps its value, and a reference stays an id.
func ExampleEdit() {
	e := dispatchtest.NewEvent(t, "charge.refunded")
	dispatchtest.Edit(e, func(c *stripe.Charge) {
		c.Amount = 2000
		c.AmountRefunded = 2000
		c.Refunded = true
		c.Customer = &stripe.Customer{ID: "cus_X"}
	})
	fmt.Println(e.Get("data.object.amount"), e.Get("data.object.amount_refunded"), e.Get("data.object.refunded"))
	fmt.Println(e.Get("data.object.customer"), e.Get("data.object.balance_transaction"))
	// Output:
	// 2000 2000 true
	// cus_X txn_1PgaxNB7WZ01zgkWEV3TLf40
}

// Stripe delivers an event at least once. With dedup, as with DEDUP_TABLE,
// the method runs once; the others are duplicates, answered 200.
func ExampleDuplicates() {
	w := dispatchtest.NewWebhook(t, Handler{}, dispatchtest.WithDedup())
	e := w.NewEvent("charge.succeeded")

	for _, d := range w.DeliverAll(t.Context(), dispatchtest.Duplicates(e, 3)...) {
		fmt.Println(d.Status, d.Outcome)
	}
	// Output:
	// 200 handled
	// 200 duplicate
	// 200 duplicate
}

// Stripe retries an event until it is answered 2xx: a method that failed
// runs again, and with dedup its failed run does not count.
func ExampleWebhook_Retry() {
	w := dispatchtest.NewWebhook(t, Handler{flaky: map[string]bool{}}, dispatchtest.WithDedup())
	e := w.NewEvent("charge.succeeded")

	for _, d := range w.Retry(t.Context(), e, 5) {
		fmt.Println(d.Status, d.Outcome, d.Log("delivery")["error"])
	}
	// Output:
	// 500 handler_error handler ChargeSucceeded: the ledger is down
	// 200 handled <nil>
}

// Stripe does not deliver events in order: Shuffle reorders a sequence,
// the same way for the same seed.
func ExampleShuffle() {
	w := dispatchtest.NewWebhook(t, Handler{})
	events := []*dispatchtest.Event{
		w.NewEvent("customer.created"),
		w.NewEvent("customer.subscription.created"),
		w.NewEvent("invoice.paid"),
		w.NewEvent("charge.succeeded"),
	}
	for _, d := range w.DeliverAll(t.Context(), dispatchtest.Shuffle(7, events...)...) {
		fmt.Println(d.EventType, d.Outcome)
	}
	// Output:
	// charge.succeeded handled
	// customer.subscription.created ignored
	// customer.created ignored
	// invoice.paid ignored
}

// ObjectKind tells what an event's data.object is, and where the kit takes
// it from.
func ExampleObjectKind() {
	for _, typ := range []string{"charge.succeeded", "customer.source.created", "billing_portal.session.created", "sku.created", "billing.alert.triggered"} {
		kind, src := dispatchtest.ObjectKind(typ)
		fmt.Println(typ, kind, src)
	}
	// Output:
	// charge.succeeded charge GET
	// customer.source.created card GET
	// billing_portal.session.created billing_portal.session fixture
	// sku.created sku minimal
	// billing.alert.triggered billing.alert GET
}

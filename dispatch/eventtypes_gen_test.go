package dispatch

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	stripe "github.com/stripe/stripe-go/v76"
)

func TestKnownEventsCount(t *testing.T) {
	if n := len(knownEvents); n != 234 {
		t.Errorf("len(knownEvents) = %d; want 234 (stripe-go v76.25.0)", n)
	}
}

func TestKnownEventsSortedAndUnique(t *testing.T) {
	methods := map[string]stripe.EventType{}
	for i, e := range knownEvents {
		if i > 0 && knownEvents[i-1].Type >= e.Type {
			t.Errorf("knownEvents[%d].Type %q is not after %q", i, e.Type, knownEvents[i-1].Type)
		}
		if prev, dup := methods[e.Method]; dup {
			t.Errorf("method %s used by %q and %q", e.Method, prev, e.Type)
		}
		methods[e.Method] = e.Type
	}
}

func TestKnownEventsMethods(t *testing.T) {
	byType := map[stripe.EventType]string{}
	for _, e := range knownEvents {
		byType[e.Type] = e.Method
		// The method is the constant name minus "EventType", so it spells the
		// event type's words without separators, initialisms aside.
		words := strings.NewReplacer(".", "", "_", "").Replace(string(e.Type))
		if !strings.EqualFold(e.Method, words) {
			t.Errorf("%q: method %s does not spell the event type", e.Type, e.Method)
		}
	}
	samples := []struct {
		typ    stripe.EventType
		method string
	}{
		{"charge.succeeded", "ChargeSucceeded"},
		{"invoice.payment_failed", "InvoicePaymentFailed"},
		{"invoiceitem.created", "InvoiceItemCreated"},
		{"customer.tax_id.created", "CustomerTaxIDCreated"},
		{"customer.subscription.trial_will_end", "CustomerSubscriptionTrialWillEnd"},
		{"sku.updated", "SKUUpdated"},
		{"test_helpers.test_clock.ready", "TestHelpersTestClockReady"},
		{stripe.EventTypeCheckoutSessionCompleted, "CheckoutSessionCompleted"},
	}
	for _, s := range samples {
		if got, ok := byType[s.typ]; !ok || got != s.method {
			t.Errorf("%q: method %q (present %v); want %q", s.typ, got, ok, s.method)
		}
	}
}

func TestKnownEventsObjects(t *testing.T) {
	const pkg = "github.com/stripe/stripe-go/v76"
	// Legacy objects stripe-go v76 does not model; their methods take no
	// typed argument.
	untyped := map[stripe.EventType]bool{
		"order.created": true, "recipient.created": true, "recipient.deleted": true, "recipient.updated": true,
		"sku.created": true, "sku.deleted": true, "sku.updated": true, "source.mandate_notification": true,
	}
	for _, e := range knownEvents {
		if (len(e.Objects) == 0) != untyped[e.Type] {
			t.Errorf("%q: %d object types, untyped %v", e.Type, len(e.Objects), untyped[e.Type])
		}
		for _, o := range e.Objects {
			if o == nil || o.Kind() != reflect.Struct || o.PkgPath() != pkg {
				t.Errorf("%q: object type %v is not a struct type of package %s", e.Type, o, pkg)
			}
		}
	}
}

// TestKnownEventsDecode decodes realistic data.object payloads into the
// canonical object type of their event.
func TestKnownEventsDecode(t *testing.T) {
	samples := []struct {
		typ  stripe.EventType
		want reflect.Type
		obj  string
	}{
		{stripe.EventTypeChargeSucceeded, reflect.TypeFor[stripe.Charge](), `{
			"id": "ch_3MmlLrLkdIwHu7ix0snN0B15", "object": "charge", "amount": 1099,
			"amount_captured": 1099, "amount_refunded": 0, "captured": true,
			"created": 1679090539, "currency": "usd", "customer": "cus_NffrFeUfNV2Hib",
			"livemode": false, "metadata": {}, "paid": true,
			"payment_intent": "pi_3MmlLrLkdIwHu7ix0uke3Ezy",
			"payment_method": "pm_1MmlLrLkdIwHu7ixIJwEWSNR",
			"payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242", "exp_month": 3, "exp_year": 2024}},
			"refunded": false, "refunds": {"object": "list", "data": [], "has_more": false, "url": "/v1/charges/ch_3MmlLrLkdIwHu7ix0snN0B15/refunds"},
			"status": "succeeded"}`},
		{stripe.EventTypeInvoicePaymentFailed, reflect.TypeFor[stripe.Invoice](), `{
			"id": "in_1MtHbELkdIwHu7ixl4OzzPMv", "object": "invoice", "amount_due": 2000,
			"amount_paid": 0, "amount_remaining": 2000, "attempt_count": 1, "attempted": true,
			"billing_reason": "subscription_cycle", "collection_method": "charge_automatically",
			"currency": "usd", "customer": "cus_NeZwdNtLEOXuvB",
			"lines": {"object": "list", "data": [{"id": "il_1MtHbELkdIwHu7ixA8r8tEcq", "object": "line_item", "amount": 2000, "currency": "usd", "type": "subscription", "period": {"start": 1680644467, "end": 1683236467}}], "has_more": false, "url": "/v1/invoices/in_1MtHbELkdIwHu7ixl4OzzPMv/lines"},
			"livemode": false, "paid": false, "status": "open",
			"subscription": "sub_1MtHbELkdIwHu7ixlzDtQ9Ex", "total": 2000}`},
		{stripe.EventTypeCustomerSubscriptionUpdated, reflect.TypeFor[stripe.Subscription](), `{
			"id": "sub_1MowQVLkdIwHu7ixeRlqHVzs", "object": "subscription",
			"cancel_at_period_end": false, "collection_method": "charge_automatically",
			"created": 1679609767, "currency": "usd", "current_period_end": 1682288167,
			"current_period_start": 1679609767, "customer": "cus_Na6dX7aXxi11N4",
			"items": {"object": "list", "data": [{"id": "si_Na6dzxczY5fwHx", "object": "subscription_item", "price": {"id": "price_1MowQULkdIwHu7ixraBm864M", "object": "price", "currency": "usd", "unit_amount": 1000, "recurring": {"interval": "month", "interval_count": 1}}, "quantity": 1}], "has_more": false},
			"livemode": false, "metadata": {}, "status": "active"}`},
		{stripe.EventTypeCheckoutSessionCompleted, reflect.TypeFor[stripe.CheckoutSession](), `{
			"id": "cs_test_a11YYufWQzNY63zpQ6QSNRQhkUpVph4WRmzW0zWJO2znZKdVujZ0N0S22u",
			"object": "checkout.session", "amount_subtotal": 2198, "amount_total": 2198,
			"client_reference_id": null, "created": 1679600215, "currency": "usd",
			"customer": "cus_Na6dX7aXxi11N4", "customer_details": {"email": "jenny@example.com", "name": "Jenny Rosen"},
			"expires_at": 1679686615, "livemode": false, "metadata": {}, "mode": "payment",
			"payment_intent": "pi_3MowQVLkdIwHu7ix1Nf1xyqs", "payment_status": "paid",
			"status": "complete", "success_url": "https://example.com/success", "url": null}`},
		{stripe.EventTypeChargeDisputeCreated, reflect.TypeFor[stripe.Dispute](), `{
			"id": "du_1MtJUT2eZvKYlo2CNaw2HvEv", "object": "dispute", "amount": 1000,
			"balance_transactions": [], "charge": "ch_1AZtxr2eZvKYlo2CJDX8whov",
			"created": 1680651737, "currency": "usd",
			"evidence_details": {"due_by": 1682294399, "has_evidence": false, "past_due": false, "submission_count": 0},
			"is_charge_refundable": true, "livemode": false, "metadata": {},
			"payment_intent": null, "reason": "general", "status": "warning_needs_response"}`},
		{stripe.EventTypePaymentIntentPaymentFailed, reflect.TypeFor[stripe.PaymentIntent](), `{
			"id": "pi_3MtwBwLkdIwHu7ix28a3tqPa", "object": "payment_intent", "amount": 2000,
			"amount_capturable": 0, "amount_received": 0,
			"automatic_payment_methods": {"enabled": true}, "capture_method": "automatic",
			"client_secret": "pi_3MtwBwLkdIwHu7ix28a3tqPa_secret_YrKJUKribcBjcG8HVhfZluoGH",
			"confirmation_method": "automatic", "created": 1680800504, "currency": "usd",
			"last_payment_error": {"code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined.", "type": "card_error"},
			"livemode": false, "metadata": {}, "payment_method_types": ["card"],
			"status": "requires_payment_method"}`},
	}
	byType := map[stripe.EventType]knownEvent{}
	for _, e := range knownEvents {
		byType[e.Type] = e
	}
	for _, s := range samples {
		e, ok := byType[s.typ]
		if !ok {
			t.Errorf("%q: not in knownEvents", s.typ)
			continue
		}
		if len(e.Objects) == 0 || e.Objects[0] != s.want {
			t.Errorf("%q: canonical object %v; want %v", s.typ, e.Objects, s.want)
			continue
		}
		var raw struct {
			Object string `json:"object"`
		}
		if err := json.Unmarshal([]byte(s.obj), &raw); err != nil {
			t.Fatalf("%q: bad sample: %v", s.typ, err)
		}
		v := reflect.New(e.Objects[0])
		if err := json.Unmarshal([]byte(s.obj), v.Interface()); err != nil {
			t.Errorf("%q: decoding into %v: %v", s.typ, e.Objects[0], err)
			continue
		}
		f := v.Elem().FieldByName("Object")
		if !f.IsValid() || f.Kind() != reflect.String {
			t.Errorf("%q: %v has no string Object field", s.typ, e.Objects[0])
			continue
		}
		if got := f.String(); got != raw.Object {
			t.Errorf("%q: decoded Object %q; want %q", s.typ, got, raw.Object)
		}
		if id := v.Elem().FieldByName("ID"); !id.IsValid() || id.String() == "" {
			t.Errorf("%q: decoded ID is empty", s.typ)
		}
	}
}

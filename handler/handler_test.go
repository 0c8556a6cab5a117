package handler

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
	"stripetask/secrets"
)

// TestHandlerAgainstStripeMock runs the shipped Handler's methods through
// the dispatcher, with h.Stripe talking to a real stripe-mock.
func TestHandlerAgainstStripeMock(t *testing.T) {
	base := stripemock.Start(t)
	d, err := dispatch.New(Handler{})
	if err != nil {
		t.Fatalf("the shipped Handler does not validate: %v", err)
	}
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	m := secrets.Map{"STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": base}
	env := dispatch.Env{Stripe: stripeclient.NewCache(nil, log).Client(m), Secrets: m, Log: log}
	if err := d.Init(context.Background(), env); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		typ, object, wantLog string
	}{
		{"checkout.session.completed", `{"id":"cs_test_1","object":"checkout.session","amount_total":2000}`, `"session":"cs_test_1","line_items":1`},
		{"charge.succeeded", `{"id":"ch_1","object":"charge","amount":2000,"currency":"eur"}`, `"charge":"ch_1","amount":2000,"currency":"eur"`},
		{"invoice.payment_failed", `{"id":"in_1","object":"invoice","amount_due":900,"attempt_count":2}`, `"invoice":"in_1","amount_due":900,"attempt":2`},
		{"customer.subscription.deleted", `{"id":"sub_1","object":"subscription","status":"canceled"}`, `"subscription":"sub_1","status":"canceled"`},
	}
	for _, tt := range tests {
		body := `{"id":"evt_` + tt.typ + `","object":"event","api_version":"` + stripe.APIVersion + `","type":"` + tt.typ + `","data":{"object":` + tt.object + `}}`
		dl, err := d.Decode([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Run(context.Background(), dl, env); err != nil {
			t.Fatalf("%s: %v", tt.typ, err)
		}
		if !strings.Contains(logs.String(), tt.wantLog) {
			t.Errorf("%s: log lacks %s:\n%s", tt.typ, tt.wantLog, logs.String())
		}
		if !strings.Contains(logs.String(), `"event_id":"evt_`+tt.typ+`"`) {
			t.Errorf("%s: h.Log does not carry the event id", tt.typ)
		}
	}
}

// TestStripeErrorIsReturned checks that a failing Stripe call becomes the
// method's error (so the delivery answers 500 and Stripe retries): stripe-mock
// refuses a key that is not of the sk_test_ form.
func TestStripeErrorIsReturned(t *testing.T) {
	base := stripemock.Start(t)
	d, err := dispatch.New(Handler{})
	if err != nil {
		t.Fatal(err)
	}
	m := secrets.Map{"STRIPE_KEY": "not-a-key", "STRIPE_API_BASE": base}
	env := dispatch.Env{Stripe: stripeclient.NewCache(nil, nil).Client(m), Secrets: m, Log: slog.New(slog.DiscardHandler)}
	dl, _ := d.Decode([]byte(`{"id":"evt_1","object":"event","type":"checkout.session.completed","data":{"object":{"id":"cs_test_1"}}}`))
	err = d.Run(context.Background(), dl, env)
	var he *dispatch.HandlerError
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "listing line items of cs_test_1") {
		t.Fatalf("got %v", err)
	}
}

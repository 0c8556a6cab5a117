package dispatch

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76"
)

// typedAll has a typed method for every fixture's event type.
type typedAll struct {
	Env
	got *any
}

func (h *typedAll) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	*h.got = c
	return nil
}
func (h *typedAll) ChargeFailed(ctx context.Context, c *stripe.Charge) error { *h.got = c; return nil }
func (h *typedAll) ChargeRefunded(ctx context.Context, c *stripe.Charge) error {
	*h.got = c
	return nil
}
func (h *typedAll) ChargeDisputeCreated(ctx context.Context, d *stripe.Dispute) error {
	*h.got = d
	return nil
}
func (h *typedAll) PaymentIntentSucceeded(ctx context.Context, p *stripe.PaymentIntent) error {
	*h.got = p
	return nil
}
func (h *typedAll) PaymentIntentPaymentFailed(ctx context.Context, p *stripe.PaymentIntent) error {
	*h.got = p
	return nil
}
func (h *typedAll) InvoicePaid(ctx context.Context, i *stripe.Invoice) error { *h.got = i; return nil }
func (h *typedAll) InvoicePaymentFailed(ctx context.Context, i *stripe.Invoice) error {
	*h.got = i
	return nil
}
func (h *typedAll) CustomerCreated(ctx context.Context, c *stripe.Customer) error {
	*h.got = c
	return nil
}
func (h *typedAll) CustomerSubscriptionCreated(ctx context.Context, s *stripe.Subscription) error {
	*h.got = s
	return nil
}
func (h *typedAll) CustomerSubscriptionUpdated(ctx context.Context, s *stripe.Subscription) error {
	*h.got = s
	return nil
}
func (h *typedAll) CustomerSubscriptionDeleted(ctx context.Context, s *stripe.Subscription) error {
	*h.got = s
	return nil
}
func (h *typedAll) CheckoutSessionCompleted(ctx context.Context, s *stripe.CheckoutSession) error {
	*h.got = s
	return nil
}

// TestOnePassDecode checks, on every fixture, that Decode takes the one-pass
// path and that what a method receives equals what stripe-go's own decoding
// gives: the envelope as webhook.ConstructEvent would decode it, Data.Raw
// byte for byte, and the object as json.Unmarshal into its type.
func TestOnePassDecode(t *testing.T) {
	files, err := filepath.Glob("../events/*.json")
	if err != nil || len(files) < 13 {
		t.Fatalf("fixtures: %v, %d files", err, len(files))
	}
	var got any
	d, err := New(typedAll{got: &got})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			var e events.APIGatewayV2HTTPRequest
			raw, _ := os.ReadFile(name)
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			body := []byte(e.Body)
			dl, err := d.Decode(body)
			if err != nil {
				t.Fatal(err)
			}
			if dl.object == nil {
				t.Fatal("Decode did not take the one-pass path")
			}
			var want stripe.Event
			if err := json.Unmarshal(body, &want); err != nil {
				t.Fatal(err)
			}
			ev := *dl.Event
			if string(ev.Data.Raw) != string(want.Data.Raw) {
				t.Errorf("Data.Raw differs from stripe-go's:\n%s\n%s", ev.Data.Raw, want.Data.Raw)
			}
			if !reflect.DeepEqual(ev.Data.PreviousAttributes, want.Data.PreviousAttributes) {
				t.Errorf("PreviousAttributes %v, want %v", ev.Data.PreviousAttributes, want.Data.PreviousAttributes)
			}
			wantRaw := want.Data.Raw
			ev.Data, want.Data = nil, nil
			if !reflect.DeepEqual(ev, want) {
				t.Errorf("envelope differs:\n%+v\n%+v", ev, want)
			}
			if err := d.Run(context.Background(), dl, Env{}); err != nil {
				t.Fatal(err)
			}
			wantObj := reflect.New(reflect.TypeOf(got).Elem()).Interface()
			if err := json.Unmarshal(wantRaw, wantObj); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, wantObj) {
				t.Errorf("object differs from json.Unmarshal's")
			}
			if strings.HasSuffix(name, ".updated.json") && len(dl.Event.Data.PreviousAttributes) == 0 {
				t.Errorf("previous_attributes lost")
			}
		})
	}
}

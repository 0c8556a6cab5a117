package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/dispatch"
	"stripetask/internal/bootstrap"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
	"stripetask/internal/transport"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

const benchSecret = "whsec_bench_0123456789abcdef"

// benchHandler does what a real handler's first line does: read the object.
type benchHandler struct {
	dispatch.Env
}

var sink int64

func (h *benchHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	sink += c.Amount
	return nil
}

func (h *benchHandler) InvoicePaid(ctx context.Context, i *stripe.Invoice) error {
	sink += i.AmountPaid
	return nil
}

func (h *benchHandler) CustomerSubscriptionUpdated(ctx context.Context, s *stripe.Subscription) error {
	sink += s.CurrentPeriodEnd
	return nil
}

func (h *benchHandler) CheckoutSessionCompleted(ctx context.Context, s *stripe.CheckoutSession) error {
	sink += s.AmountTotal
	return nil
}

// baseline is the hand-written handler the runtime is measured against:
// stripe-go's ConstructEvent (which also decodes data.object into a map),
// a switch on the type, and a second decode of data.object into its type.
func baseline(e *events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	ev, err := webhook.ConstructEvent([]byte(e.Body), e.Headers["stripe-signature"], benchSecret)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{StatusCode: 400}, nil
	}
	switch ev.Type {
	case stripe.EventTypeChargeSucceeded:
		var c stripe.Charge
		if err := json.Unmarshal(ev.Data.Raw, &c); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400}, nil
		}
		sink += c.Amount
	case stripe.EventTypeInvoicePaid:
		var i stripe.Invoice
		if err := json.Unmarshal(ev.Data.Raw, &i); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400}, nil
		}
		sink += i.AmountPaid
	case stripe.EventTypeCustomerSubscriptionUpdated:
		var s stripe.Subscription
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400}, nil
		}
		sink += s.CurrentPeriodEnd
	case stripe.EventTypeCheckoutSessionCompleted:
		var s stripe.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &s); err != nil {
			return events.APIGatewayV2HTTPResponse{StatusCode: 400}, nil
		}
		sink += s.AmountTotal
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: `{"status":"handled"}`}, nil
}

// benchEvent loads a fixture and signs it with benchSecret now.
func benchEvent(b *testing.B, name string) *events.APIGatewayV2HTTPRequest {
	raw, err := os.ReadFile("../../events/" + name + ".json")
	if err != nil {
		b.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &e); err != nil {
		b.Fatal(err)
	}
	if e.IsBase64Encoded {
		b.Fatalf("%s: want a plain-text body", name)
	}
	e.Headers["stripe-signature"] = fixture.Sign([]byte(e.Body), benchSecret, time.Now())
	return &e
}

// runtimeHandler is the webhook as deployed, with a discarding JSON logger:
// the log line is formatted, as in Lambda.
func runtimeHandler(b *testing.B) *webhookhttp.Handler {
	d, err := dispatch.New(benchHandler{})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	m := secrets.Map{"STRIPE_WEBHOOK_SECRET": benchSecret, "STRIPE_KEY": "sk_test_123"}
	h := bootstrap.NewWebhook(function.Deps{
		Secrets:   secrets.Static(m),
		Log:       log,
		Stripe:    stripeclient.NewCache(nil, log),
		RequestID: transport.RequestID,
	}, d, nil, 0)
	if _, err := h.Warm(context.Background()); err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkWebhook compares, per event, the full runtime path (API Gateway
// event in, response out) with the hand-written baseline. Compare with
// `benchstat -col /impl` (make bench).
func BenchmarkWebhook(b *testing.B) {
	h := runtimeHandler(b)
	ctx := context.Background()
	for _, name := range []string{"charge.succeeded", "invoice.paid", "customer.subscription.updated", "checkout.session.completed"} {
		e := benchEvent(b, name)
		b.Run(fmt.Sprintf("event=%s/impl=baseline", name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if res, _ := baseline(e); res.StatusCode != 200 {
					b.Fatalf("baseline answered %d", res.StatusCode)
				}
			}
		})
		b.Run(fmt.Sprintf("event=%s/impl=runtime", name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				res, err := transport.ServeV2(ctx, h, e)
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("runtime answered %d %s %v", res.StatusCode, res.Body, err)
				}
			}
		})
	}
}

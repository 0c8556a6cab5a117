package payapi

import (
	"net/http"
	"strings"
	"testing"
)

// cardErrorSecret is the client secret inside the payment intent that
// Stripe attaches to a card error; it must reach neither the client nor
// the log.
const cardErrorSecret = "pi_3Decline0_secret_Wq8Nt5bYoAMESxgLEAK"

// TestStripeErrors maps each class of Stripe failure. stripe-mock never
// declines a card, rate-limits, reports an idempotency conflict, rejects
// its key with a Request-Id or fails, so each backend here is a stub
// answering with Stripe's real error JSON and a Request-Id header.
// TestStripeUnreachable has no backend at all.
func TestStripeErrors(t *testing.T) {
	const rid = "req_stub0123456789"
	tests := []struct {
		name                 string
		method, target, body string
		status               int    // the stub's
		stub                 string // the stub's body
		want                 int
		fields               map[string]any // of the response body
		hidden               string         // Stripe text the response must not hold
		calls                int            // Stripe requests, with stripe-go's retries
	}{
		{
			name: "card declined", method: "POST", target: "/payment-intents/pi_3Decline0/capture",
			status: 402, stub: `{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds",
				"message":"Your card has insufficient funds.","param":"","doc_url":"https://stripe.com/docs/error-codes/card-declined",
				"charge":"ch_3Decline0","payment_intent":{"id":"pi_3Decline0","object":"payment_intent","client_secret":"` + cardErrorSecret + `","status":"requires_payment_method"}}}`,
			want:   402,
			fields: map[string]any{"error": "Your card has insufficient funds.", "code": "card_declined", "decline_code": "insufficient_funds", "stripe_request_id": rid},
			hidden: "ch_3Decline0", calls: 1,
		},
		{
			name: "resource missing", method: "GET", target: "/payment-intents/pi_missing",
			status: 404, stub: `{"error":{"type":"invalid_request_error","code":"resource_missing","param":"intent","message":"No such payment_intent: 'pi_missing'"}}`,
			want: 404, fields: map[string]any{"error": "No such payment_intent: 'pi_missing'", "param": "intent", "stripe_request_id": rid}, calls: 1,
		},
		{
			name: "idempotency key reused with other parameters", method: "POST", target: "/customers", body: `{"email":"j@example.com"}`,
			status: 400, stub: `{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than 'pay:POST /customers:k1' if you meant to execute a different request."}}`,
			want: 409, fields: map[string]any{"error": msgIdempotency, "field": "Idempotency-Key", "stripe_request_id": rid},
			hidden: "pay:POST", calls: 1,
		},
		{
			// stripe-go retries a 409 twice with the same key.
			name: "idempotency key in use", method: "POST", target: "/refunds", body: `{"payment_intent":"pi_1"}`,
			status: 409, stub: `{"error":{"type":"idempotency_error","message":"There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): pay:POST /refunds:k1. Please try again later."}}`,
			want: 409, fields: map[string]any{"error": msgIdempotency, "stripe_request_id": rid}, hidden: "pay:POST", calls: 3,
		},
		{
			name: "rate limited", method: "POST", target: "/payment-intents", body: `{"amount":100,"currency":"usd"}`,
			status: 429, stub: `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits."}}`,
			want: 429, fields: map[string]any{"error": msgRateLimited, "stripe_request_id": rid}, hidden: "rate limit exceeded", calls: 1,
		},
		{
			name: "invalid request", method: "POST", target: "/payment-intents", body: `{"amount":100,"currency":"xyz"}`,
			status: 400, stub: `{"error":{"type":"invalid_request_error","code":"parameter_invalid_string","param":"currency","message":"Invalid currency: xyz. Stripe currently supports these currencies: usd, eur."}}`,
			want: 400, fields: map[string]any{"error": "Invalid currency: xyz. Stripe currently supports these currencies: usd, eur.", "param": "currency", "code": "parameter_invalid_string", "stripe_request_id": rid}, calls: 1,
		},
		{
			name: "wrong API key", method: "GET", target: "/subscriptions/sub_1",
			status: 401, stub: `{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****************************5b4a"}}`,
			want: 502, fields: map[string]any{"error": msgStripeUnavailable, "stripe_request_id": rid}, hidden: "API Key", calls: 1,
		},
		{
			name: "restricted key lacks a permission", method: "POST", target: "/refunds", body: `{"payment_intent":"pi_1"}`,
			status: 403, stub: `{"error":{"type":"invalid_request_error","message":"The provided key 'rk_test_***5b4a' does not have the required permissions for this endpoint on account 'acct_1OqRtLKx7pQ2mZvN'."}}`,
			want: 502, fields: map[string]any{"error": msgStripeUnavailable, "stripe_request_id": rid}, hidden: "acct_", calls: 1,
		},
		{
			// stripe-go does not retry a POST that failed with a 500.
			name: "Stripe failed", method: "POST", target: "/customers", body: `{"email":"j@example.com"}`,
			status: 500, stub: `{"error":{"type":"api_error","message":"An unknown error occurred in our systems."}}`,
			want: 502, fields: map[string]any{"error": msgStripeUnavailable, "stripe_request_id": rid}, hidden: "unknown error", calls: 1,
		},
		{
			// A GET is retried twice.
			name: "Stripe unavailable", method: "GET", target: "/payment-intents/pi_1",
			status: 503, stub: `{"error":{"type":"api_error","message":"Stripe is temporarily unavailable."}}`,
			want: 502, fields: map[string]any{"error": msgStripeUnavailable, "stripe_request_id": rid}, hidden: "temporarily", calls: 3,
		},
		{
			name: "gateway answering HTML", method: "GET", target: "/subscriptions/sub_1",
			status: 502, stub: `<html><body>502 Bad Gateway</body></html>`,
			want: 502, fields: map[string]any{"error": msgStripeUnavailable}, hidden: "html", calls: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, be := newStubAPI(t, stubJSON(tt.status, tt.stub))
			api.leaks = append(api.leaks, cardErrorSecret)
			res := api.do(tt.method, tt.target, tt.body, "Idempotency-Key", "k1")
			if res.code != tt.want {
				t.Fatalf("status %d, want %d: %s", res.code, tt.want, res.body)
			}
			checkFields(t, res.json, tt.fields)
			if res.str("request_id") != testRID {
				t.Errorf("request_id %q, want %q", res.str("request_id"), testRID)
			}
			if tt.hidden != "" && strings.Contains(res.body, tt.hidden) {
				t.Errorf("response reveals Stripe's %q: %s", tt.hidden, res.body)
			}
			calls := be.Calls()
			if len(calls) != tt.calls {
				t.Errorf("%d Stripe calls, want %d", len(calls), tt.calls)
			}
			for _, c := range calls[1:] { // stripe-go's retries reuse the key
				if c.IdempotencyKey != calls[0].IdempotencyKey {
					t.Errorf("retry with Idempotency-Key %q, first call %q", c.IdempotencyKey, calls[0].IdempotencyKey)
				}
			}
			if _, ok := tt.fields["stripe_request_id"]; ok && res.line["stripe_request_id"] != rid {
				t.Errorf("log stripe_request_id %v, want %s", res.line["stripe_request_id"], rid)
			}
			msg, _ := res.line["error"].(string)
			if !strings.HasPrefix(msg, "stripe: ") {
				t.Errorf("log error %q, want Stripe's detail", msg)
			}
		})
	}
}

// TestStripeUnreachable checks a Stripe that does not answer: a backend
// closed before the request. stripe-go retries twice, then 502 with no
// Stripe request id.
func TestStripeUnreachable(t *testing.T) {
	api, be := newStubAPI(t, noStripe(t))
	be.srv.Close()
	res := api.do("POST", "/payment-intents", `{"amount":100,"currency":"usd"}`)
	if res.code != http.StatusBadGateway || res.str("error") != msgStripeUnavailable {
		t.Fatalf("got %d %s, want 502 with the generic message", res.code, res.body)
	}
	if _, ok := res.json["stripe_request_id"]; ok {
		t.Errorf("stripe_request_id without a Stripe answer: %s", res.body)
	}
	if strings.Contains(res.body, "127.0.0.1") || strings.Contains(res.body, "connect") {
		t.Errorf("response reveals the transport error: %s", res.body)
	}
	msg, _ := res.line["error"].(string)
	if !strings.Contains(msg, "connection refused") && !strings.Contains(msg, "connect") {
		t.Errorf("log error %q, want the transport error", msg)
	}
	if strings.Contains(msg, be.URL) {
		t.Errorf("log error reveals STRIPE_API_BASE: %q", msg)
	}
}

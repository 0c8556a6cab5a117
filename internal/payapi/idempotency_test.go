package payapi

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
)

// TestIdempotencyScoping sends one Idempotency-Key to several routes
// through a recording stub backend (it shows the Idempotency-Key header
// stripe-go sends; the stub answers each call with a valid object) and
// checks that each route gets its own Stripe key.
func TestIdempotencyScoping(t *testing.T) {
	api, be := newStubAPI(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/v1/prices/"):
			stubJSON(200, onePrice)(w, r)
		case strings.HasPrefix(r.URL.Path, "/v1/payment_intents"):
			stubJSON(200, `{"id":"pi_1","object":"payment_intent","amount":100,"currency":"usd","status":"requires_capture","client_secret":"pi_1_secret_Kx9Lm2Np4Qr6St8Uv"}`)(w, r)
		case r.URL.Path == "/v1/customers":
			stubJSON(200, `{"id":"cus_1","object":"customer","email":"j@example.com"}`)(w, r)
		case r.URL.Path == "/v1/refunds":
			stubJSON(200, `{"id":"re_1","object":"refund","amount":100,"status":"succeeded"}`)(w, r)
		default:
			stubJSON(200, `{"id":"sub_1","object":"subscription","status":"active"}`)(w, r)
		}
	})
	const key = "order-42-7f3c"
	requests := []struct {
		method, target, body string
		want                 string // the Stripe key of the write
	}{
		{"POST", "/payment-intents", `{"amount":100,"currency":"usd"}`, "pay:POST /payment-intents:" + key},
		{"POST", "/customers", `{"email":"j@example.com"}`, "pay:POST /customers:" + key},
		{"POST", "/refunds", `{"payment_intent":"pi_1"}`, "pay:POST /refunds:" + key},
		{"POST", "/payment-intents/pi_1/capture", "", "pay:POST /payment-intents/{id}/capture:" + key},
		{"POST", "/payment-intents/pi_1/cancel", "", "pay:POST /payment-intents/{id}/cancel:" + key},
		{"POST", "/subscriptions", `{"customer":"cus_1","price":"price_1"}`, "pay:POST /subscriptions:" + key},
		{"DELETE", "/subscriptions/sub_1", "", "pay:DELETE /subscriptions/{id}:" + key},
		{"POST", "/checkout", `{"price":"price_1"}`, "pay:POST /checkout:" + key},
	}
	seen := map[string]string{}
	for _, rq := range requests {
		n := len(be.Calls())
		res := api.do(rq.method, rq.target, rq.body, "Idempotency-Key", key)
		if res.code >= 300 {
			t.Fatalf("%s %s: status %d: %s", rq.method, rq.target, res.code, res.body)
		}
		calls := be.Calls()[n:]
		write := calls[len(calls)-1] // checkout reads the price first
		if write.IdempotencyKey != rq.want {
			t.Errorf("%s %s: Stripe Idempotency-Key %q, want %q", rq.method, rq.target, write.IdempotencyKey, rq.want)
		}
		if prev, dup := seen[write.IdempotencyKey]; dup {
			t.Errorf("%s %s and %s share the Stripe key %q", rq.method, rq.target, prev, write.IdempotencyKey)
		}
		seen[write.IdempotencyKey] = rq.target
	}

	// The same key on the same route is the same Stripe key: a retry
	// replays Stripe's first answer.
	n := len(be.Calls())
	api.do("POST", "/customers", `{"email":"j@example.com"}`, "Idempotency-Key", key)
	if got := be.Calls()[n].IdempotencyKey; got != "pay:POST /customers:"+key {
		t.Errorf("retry: Stripe key %q", got)
	}

	// Without the header, stripe-go's own key: a fresh one per request.
	n = len(be.Calls())
	api.do("POST", "/customers", `{"email":"j@example.com"}`)
	api.do("POST", "/customers", `{"email":"j@example.com"}`)
	c := be.Calls()[n:]
	if c[0].IdempotencyKey == "" || c[0].IdempotencyKey == c[1].IdempotencyKey || strings.HasPrefix(c[0].IdempotencyKey, "pay:") {
		t.Errorf("without Idempotency-Key, Stripe keys %q and %q: want two distinct stripe-go keys", c[0].IdempotencyKey, c[1].IdempotencyKey)
	}

	// A long key is hashed to fit Stripe's 255 characters.
	long := strings.Repeat("k", 255)
	n = len(be.Calls())
	api.do("POST", "/payment-intents/pi_1/capture", "", "Idempotency-Key", long)
	sum := sha256.Sum256([]byte("pay:POST /payment-intents/{id}/capture:" + long))
	if got, want := be.Calls()[n].IdempotencyKey, "pay:sha256:"+hex.EncodeToString(sum[:]); got != want {
		t.Errorf("long key: Stripe key %q, want %q", got, want)
	}
}

// TestIdempotencyKey checks the header's rules and its scoping.
func TestIdempotencyKey(t *testing.T) {
	const route = "POST /refunds"
	tests := []struct {
		name   string
		values []string // nil: no header
		want   string
		ok     bool
	}{
		{"absent", nil, "", true},
		{"uuid", []string{"5f0c6a1e-8d2b-4c3a-9e7f-1b2c3d4e5f60"}, "pay:POST /refunds:5f0c6a1e-8d2b-4c3a-9e7f-1b2c3d4e5f60", true},
		{"inner spaces and punctuation", []string{"order 42: retry #1"}, "pay:POST /refunds:order 42: retry #1", true},
		{"255 characters", []string{strings.Repeat("x", 255)}, "", true},
		{"empty", []string{""}, "", false},
		{"256 characters", []string{strings.Repeat("x", 256)}, "", false},
		{"leading space", []string{" a"}, "", false},
		{"trailing space", []string{"a "}, "", false},
		{"newline", []string{"a\nb"}, "", false},
		{"DEL", []string{"a\x7fb"}, "", false},
		{"UTF-8", []string{"naïve"}, "", false},
		{"twice", []string{"a", "b"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.values != nil {
				h["Idempotency-Key"] = tt.values
			}
			got, err := idempotencyKey(h, route)
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if fe, isField := err.(*fieldError); !isField || fe.field != "Idempotency-Key" {
					t.Errorf("error %#v, want a *fieldError for Idempotency-Key", err)
				}
				return
			}
			if len(got) > maxIdempotencyKey {
				t.Errorf("key of %d characters, over Stripe's %d", len(got), maxIdempotencyKey)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("key %q, want %q", got, tt.want)
			}
		})
	}
}

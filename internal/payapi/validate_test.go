package payapi

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidation sends one request per field rule. Each is refused with a
// 400 naming the field before any Stripe call: the stub backend fails the
// test if it is reached.
func TestValidation(t *testing.T) {
	api, be := newStubAPI(t, noStripe(t), AllowedPricesSecret, "price_ok")
	pi := func(fields string) string { return `{"amount":100,"currency":"usd"` + fields + `}` }
	many := make([]string, 51)
	for i := range many {
		many[i] = fmt.Sprintf(`"k%d":"v"`, i)
	}
	tests := []struct {
		name, method, target, body string
		hdr                        []string
		field                      string
	}{
		// POST /payment-intents
		{"amount missing", "POST", "/payment-intents", `{"currency":"usd"}`, nil, "amount"},
		{"amount null", "POST", "/payment-intents", `{"amount":null,"currency":"usd"}`, nil, "amount"},
		{"amount zero", "POST", "/payment-intents", `{"amount":0,"currency":"usd"}`, nil, "amount"},
		{"amount negative", "POST", "/payment-intents", `{"amount":-5,"currency":"usd"}`, nil, "amount"},
		{"amount over Stripe's limit", "POST", "/payment-intents", `{"amount":100000000,"currency":"usd"}`, nil, "amount"},
		{"amount fractional", "POST", "/payment-intents", `{"amount":10.5,"currency":"usd"}`, nil, "amount"},
		{"amount a string", "POST", "/payment-intents", `{"amount":"100","currency":"usd"}`, nil, "amount"},
		{"amount overflowing int64", "POST", "/payment-intents", `{"amount":1e30,"currency":"usd"}`, nil, "amount"},
		{"currency missing", "POST", "/payment-intents", `{"amount":100}`, nil, "currency"},
		{"currency two letters", "POST", "/payment-intents", `{"amount":100,"currency":"us"}`, nil, "currency"},
		{"currency four letters", "POST", "/payment-intents", `{"amount":100,"currency":"usdt"}`, nil, "currency"},
		{"currency not letters", "POST", "/payment-intents", `{"amount":100,"currency":"u$d"}`, nil, "currency"},
		{"currency a number", "POST", "/payment-intents", `{"amount":100,"currency":840}`, nil, "currency"},
		{"customer wrong prefix", "POST", "/payment-intents", pi(`,"customer":"cust_123"`), nil, "customer"},
		{"customer prefix only", "POST", "/payment-intents", pi(`,"customer":"cus_"`), nil, "customer"},
		{"customer with a slash", "POST", "/payment-intents", pi(`,"customer":"cus_1/../../v1/charges"`), nil, "customer"},
		{"customer too long", "POST", "/payment-intents", pi(`,"customer":"cus_` + strings.Repeat("a", 252) + `"`), nil, "customer"},
		{"capture_method unknown", "POST", "/payment-intents", pi(`,"capture_method":"later"`), nil, "capture_method"},
		{"capture_method case", "POST", "/payment-intents", pi(`,"capture_method":"Manual"`), nil, "capture_method"},
		{"description empty", "POST", "/payment-intents", pi(`,"description":""`), nil, "description"},
		{"description too long", "POST", "/payment-intents", pi(`,"description":"` + strings.Repeat("x", 1001) + `"`), nil, "description"},
		{"receipt_email no at", "POST", "/payment-intents", pi(`,"receipt_email":"jenny.example.com"`), nil, "receipt_email"},
		{"receipt_email with a name", "POST", "/payment-intents", pi(`,"receipt_email":"Jenny <jenny@example.com>"`), nil, "receipt_email"},
		{"receipt_email two", "POST", "/payment-intents", pi(`,"receipt_email":"a@example.com, b@example.com"`), nil, "receipt_email"},
		{"metadata 51 keys", "POST", "/payment-intents", pi(`,"metadata":{` + strings.Join(many, ",") + `}`), nil, "metadata"},
		{"metadata key 41 characters", "POST", "/payment-intents", pi(`,"metadata":{"` + strings.Repeat("k", 41) + `":"v"}`), nil, "metadata"},
		{"metadata empty key", "POST", "/payment-intents", pi(`,"metadata":{"":"v"}`), nil, "metadata"},
		{"metadata key with brackets", "POST", "/payment-intents", pi(`,"metadata":{"a[b]":"v"}`), nil, "metadata"},
		{"metadata value 501 characters", "POST", "/payment-intents", pi(`,"metadata":{"k":"` + strings.Repeat("v", 501) + `"}`), nil, "metadata"},
		{"metadata value a number", "POST", "/payment-intents", pi(`,"metadata":{"k":1}`), nil, "metadata"},
		{"metadata not an object", "POST", "/payment-intents", pi(`,"metadata":["k"]`), nil, "metadata"},
		{"unknown field", "POST", "/payment-intents", pi(`,"amount_decimal":"1.5"`), nil, "amount_decimal"},

		// payment intent ids in the path
		{"get: not a payment intent id", "GET", "/payment-intents/ch_123", "", nil, "id"},
		{"get: escaped slash", "GET", "/payment-intents/pi_1%2Fcapture", "", nil, "id"},
		{"capture: not a payment intent id", "POST", "/payment-intents/seti_1/capture", "", nil, "id"},
		{"capture: amount_to_capture zero", "POST", "/payment-intents/pi_1/capture", `{"amount_to_capture":0}`, nil, "amount_to_capture"},
		{"capture: amount_to_capture too big", "POST", "/payment-intents/pi_1/capture", `{"amount_to_capture":100000000}`, nil, "amount_to_capture"},
		{"cancel: not a payment intent id", "POST", "/payment-intents/pm_1/cancel", "", nil, "id"},
		{"cancel: a field", "POST", "/payment-intents/pi_1/cancel", `{"cancellation_reason":"duplicate"}`, nil, "cancellation_reason"},

		// POST /customers
		{"email missing", "POST", "/customers", `{"name":"Jenny"}`, nil, "email"},
		{"email malformed", "POST", "/customers", `{"email":"jenny@"}`, nil, "email"},
		{"email too long", "POST", "/customers", `{"email":"` + strings.Repeat("j", 510) + `@example.com"}`, nil, "email"},
		{"name empty", "POST", "/customers", `{"email":"j@example.com","name":""}`, nil, "name"},
		{"name too long", "POST", "/customers", `{"email":"j@example.com","name":"` + strings.Repeat("n", 257) + `"}`, nil, "name"},
		{"customer metadata", "POST", "/customers", `{"email":"j@example.com","metadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, nil, "metadata"},

		// POST /subscriptions
		{"subscription customer missing", "POST", "/subscriptions", `{"price":"price_1"}`, nil, "customer"},
		{"subscription customer malformed", "POST", "/subscriptions", `{"customer":"sub_1","price":"price_1"}`, nil, "customer"},
		{"price missing", "POST", "/subscriptions", `{"customer":"cus_1"}`, nil, "price"},
		{"price malformed", "POST", "/subscriptions", `{"customer":"cus_1","price":"prod_1"}`, nil, "price"},
		{"priceId malformed", "POST", "/subscriptions", `{"customer":"cus_1","priceId":"plan_1"}`, nil, "priceId"},
		{"price and priceId", "POST", "/subscriptions", `{"customer":"cus_1","price":"price_1","priceId":"price_1"}`, nil, "price"},
		{"quantity zero", "POST", "/subscriptions", `{"customer":"cus_1","price":"price_1","quantity":0}`, nil, "quantity"},
		{"trial_days zero", "POST", "/subscriptions", `{"customer":"cus_1","price":"price_1","trial_days":0}`, nil, "trial_days"},
		{"trial_days over 730", "POST", "/subscriptions", `{"customer":"cus_1","price":"price_1","trial_days":731}`, nil, "trial_days"},

		// subscription ids and DELETE's query
		{"get: not a subscription id", "GET", "/subscriptions/si_1", "", nil, "id"},
		{"delete: not a subscription id", "DELETE", "/subscriptions/cus_1", "", nil, "id"},
		{"immediately=yes", "DELETE", "/subscriptions/sub_1?immediately=yes", "", nil, "immediately"},
		{"immediately=1", "DELETE", "/subscriptions/sub_1?immediately=1", "", nil, "immediately"},
		{"immediately=TRUE", "DELETE", "/subscriptions/sub_1?immediately=TRUE", "", nil, "immediately"},
		{"immediately empty", "DELETE", "/subscriptions/sub_1?immediately=", "", nil, "immediately"},
		{"immediately twice", "DELETE", "/subscriptions/sub_1?immediately=true&immediately=false", "", nil, "immediately"},

		// POST /refunds
		{"payment_intent missing", "POST", "/refunds", `{"amount":100}`, nil, "payment_intent"},
		{"payment_intent a charge", "POST", "/refunds", `{"payment_intent":"ch_1"}`, nil, "payment_intent"},
		{"refund amount zero", "POST", "/refunds", `{"payment_intent":"pi_1","amount":0}`, nil, "amount"},
		{"reason unknown", "POST", "/refunds", `{"payment_intent":"pi_1","reason":"changed_mind"}`, nil, "reason"},

		// POST /checkout (no bearer token needed)
		{"checkout price missing", "POST", "/checkout", `{"quantity":1}`, []string{"Authorization", ""}, "price"},
		{"checkout price malformed", "POST", "/checkout", `{"price":"prod_1"}`, []string{"Authorization", ""}, "price"},
		{"checkout quantity zero", "POST", "/checkout", `{"price":"price_ok","quantity":0}`, []string{"Authorization", ""}, "quantity"},
		{"checkout quantity 101", "POST", "/checkout", `{"price":"price_ok","quantity":101}`, []string{"Authorization", ""}, "quantity"},
		{"checkout amount from the client", "POST", "/checkout", `{"price":"price_ok","amount":1}`, []string{"Authorization", ""}, "amount"},
		{"checkout amount in another case", "POST", "/checkout", `{"price":"price_ok","Amount":1}`, []string{"Authorization", ""}, "Amount"},
		{"checkout price not in ALLOWED_PRICES", "POST", "/checkout", `{"price":"price_other"}`, []string{"Authorization", ""}, "price"},

		// the Idempotency-Key header
		{"Idempotency-Key twice", "POST", "/customers", `{"email":"j@example.com"}`, []string{"Idempotency-Key", "a", "Idempotency-Key", "b"}, "Idempotency-Key"},
		{"Idempotency-Key too long", "POST", "/customers", `{"email":"j@example.com"}`, []string{"Idempotency-Key", strings.Repeat("k", 256)}, "Idempotency-Key"},
		{"Idempotency-Key not ASCII", "POST", "/customers", `{"email":"j@example.com"}`, []string{"Idempotency-Key", "clé"}, "Idempotency-Key"},
		{"Idempotency-Key control character", "POST", "/refunds", `{"payment_intent":"pi_1"}`, []string{"Idempotency-Key", "a\tb"}, "Idempotency-Key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := api.serve(newRequest(t, tt.method, tt.target, tt.body, tt.hdr...))
			if res.code != 400 {
				t.Fatalf("status %d, want 400: %s", res.code, res.body)
			}
			if res.str("field") != tt.field {
				t.Errorf("field %q, want %q: %s", res.str("field"), tt.field, res.body)
			}
			if msg := res.str("error"); !strings.Contains(msg, tt.field) {
				t.Errorf("error %q does not name %s", msg, tt.field)
			}
			if res.str("request_id") != testRID {
				t.Errorf("request_id %q, want %q", res.str("request_id"), testRID)
			}
			if res.line["error"] == nil {
				t.Errorf("log line has no error: %v", res.line)
			}
		})
	}
	t.Run("Idempotency-Key empty", func(t *testing.T) {
		r := newRequest(t, "POST", "/customers", `{"email":"j@example.com"}`)
		r.Header["Idempotency-Key"] = []string{""} // present, empty
		res := api.serve(r)
		if res.code != 400 || res.str("field") != "Idempotency-Key" {
			t.Errorf("got %d %s, want 400 naming Idempotency-Key", res.code, res.body)
		}
	})
	if n := len(be.Calls()); n != 0 {
		t.Errorf("%d Stripe calls, want none", n)
	}
}

// TestValidAccepted checks values at the edges of the rules that must be
// accepted, against stripe-mock.
func TestValidAccepted(t *testing.T) {
	api, _ := newMockAPI(t)
	meta := make([]string, 50)
	for i := range meta {
		meta[i] = fmt.Sprintf(`"%s%02d":"%s"`, strings.Repeat("k", 38), i, strings.Repeat("é", 500))
	}
	tests := []struct{ name, method, target, body string }{
		{"amount 1", "POST", "/payment-intents", `{"amount":1,"currency":"usd"}`},
		{"amount max", "POST", "/payment-intents", `{"amount":99999999,"currency":"JPY"}`},
		{"metadata at every limit", "POST", "/payment-intents", `{"amount":100,"currency":"usd","metadata":{` + strings.Join(meta, ",") + `}}`},
		{"description of 1000 characters", "POST", "/payment-intents", `{"amount":100,"currency":"usd","description":"` + strings.Repeat("ü", 1000) + `"}`},
		{"JSON null for optional fields", "POST", "/payment-intents", `{"amount":100,"currency":"usd","customer":null,"metadata":null}`},
		{"trial_days 730", "POST", "/subscriptions", `{"customer":"cus_1","price":"price_1","trial_days":730}`},
		{"Idempotency-Key of 255 characters", "POST", "/customers", `{"email":"j@example.com"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := api.do(tt.method, tt.target, tt.body, "Idempotency-Key", strings.Repeat("k", 255))
			if res.code != 201 {
				t.Errorf("status %d, want 201: %s", res.code, res.body)
			}
		})
	}
}

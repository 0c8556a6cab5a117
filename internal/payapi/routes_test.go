package payapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRoutesStripeMock runs every route's success path against a real
// stripe-mock, behind a recording proxy that shows what stripe-go sent: the
// parameters are checked there, because stripe-mock reflects only some of
// them (amount and currency of a payment intent, say) in its answers.
func TestRoutesStripeMock(t *testing.T) {
	api, be := newMockAPI(t)
	tests := []struct {
		name, method, target, body string
		status                     int
		// want are fields of the response body; "*" means any non-empty
		// string, a prefix ending in "*" any string with that prefix.
		want map[string]any
		// stripe is the Stripe call expected, with the parameters that
		// must be in it; "!x" means parameter x must be absent.
		stripeMethod, stripePath string
		params                   map[string]string
	}{
		{
			name: "create payment intent", method: "POST", target: "/payment-intents", status: 201,
			body:         `{"amount":1234,"currency":"EUR","customer":"cus_PgOjT3xWk9R2bV","capture_method":"manual","description":"Order 42","receipt_email":"jenny.rosen@example.com","metadata":{"order":"42"}}`,
			want:         map[string]any{"id": "pi_*", "client_secret": "pi_*", "publishable_key": testPK, "amount": 1234.0, "currency": "eur", "status": "requires_payment_method"},
			stripeMethod: "POST", stripePath: "/v1/payment_intents",
			params: map[string]string{"amount": "1234", "currency": "eur", "customer": "cus_PgOjT3xWk9R2bV", "capture_method": "manual",
				"description": "Order 42", "receipt_email": "jenny.rosen@example.com", "metadata[order]": "42"},
		},
		{
			name: "create payment intent, minimal", method: "POST", target: "/payment-intents", status: 201,
			body:         `{"amount":50,"currency":"usd"}`,
			want:         map[string]any{"id": "pi_*", "client_secret": "*", "amount": 50.0, "currency": "usd"},
			stripeMethod: "POST", stripePath: "/v1/payment_intents",
			params: map[string]string{"amount": "50", "currency": "usd", "!customer": "", "!capture_method": "", "!metadata": ""},
		},
		{
			name: "get payment intent", method: "GET", target: "/payment-intents/pi_3OqUr4Kx7pQ2mZvN0g7Fh2Lb", status: 200,
			want:         map[string]any{"id": "pi_3OqUr4Kx7pQ2mZvN0g7Fh2Lb", "status": "*", "amount": 1099.0, "amount_received": 0.0, "currency": "usd", "capture_method": "automatic"},
			stripeMethod: "GET", stripePath: "/v1/payment_intents/pi_3OqUr4Kx7pQ2mZvN0g7Fh2Lb",
		},
		{
			name: "capture part", method: "POST", target: "/payment-intents/pi_123/capture", status: 200,
			body:         `{"amount_to_capture":500}`,
			want:         map[string]any{"id": "pi_123", "status": "*", "amount": 1099.0, "currency": "usd"},
			stripeMethod: "POST", stripePath: "/v1/payment_intents/pi_123/capture",
			params: map[string]string{"amount_to_capture": "500"},
		},
		{
			name: "capture all, no body", method: "POST", target: "/payment-intents/pi_123/capture", status: 200,
			want:         map[string]any{"id": "pi_123"},
			stripeMethod: "POST", stripePath: "/v1/payment_intents/pi_123/capture",
			params: map[string]string{"!amount_to_capture": ""},
		},
		{
			name: "cancel", method: "POST", target: "/payment-intents/pi_123/cancel", status: 200, body: `{}`,
			want:         map[string]any{"id": "pi_123", "status": "*"}, // stripe-mock answers its fixture
			stripeMethod: "POST", stripePath: "/v1/payment_intents/pi_123/cancel",
		},
		{
			name: "create customer", method: "POST", target: "/customers", status: 201,
			body:         `{"email":"jenny.rosen@example.com","name":"Jenny Rosen","metadata":{"crm":"c-17"}}`,
			want:         map[string]any{"id": "cus_*", "email": "jenny.rosen@example.com", "name": "Jenny Rosen"},
			stripeMethod: "POST", stripePath: "/v1/customers",
			params: map[string]string{"email": "jenny.rosen@example.com", "name": "Jenny Rosen", "metadata[crm]": "c-17"},
		},
		{
			// stripe-mock's API version has no invoice.payment_intent and
			// no subscription.current_period_end: both are null here; see
			// TestSubscriptionClientSecret for the 2023-10-16 shape.
			name: "create subscription", method: "POST", target: "/subscriptions", status: 201,
			body:         `{"customer":"cus_PgOjT3xWk9R2bV","price":"price_1OqUr0Kx7pQ2mZvN","quantity":2,"trial_days":14}`,
			want:         map[string]any{"id": "sub_*", "status": "*", "client_secret": nil, "current_period_end": nil},
			stripeMethod: "POST", stripePath: "/v1/subscriptions",
			params: map[string]string{"customer": "cus_PgOjT3xWk9R2bV", "items[0][price]": "price_1OqUr0Kx7pQ2mZvN", "items[0][quantity]": "2",
				"trial_period_days": "14", "payment_behavior": "default_incomplete",
				"payment_settings[save_default_payment_method]": "on_subscription", "expand[0]": "latest_invoice.payment_intent"},
		},
		{
			name: "create subscription, priceId", method: "POST", target: "/subscriptions", status: 201,
			body:         `{"customer":"cus_1","priceId":"price_2"}`,
			want:         map[string]any{"id": "sub_*"},
			stripeMethod: "POST", stripePath: "/v1/subscriptions",
			params: map[string]string{"items[0][price]": "price_2", "!items[0][quantity]": "", "!trial_period_days": ""},
		},
		{
			name: "get subscription", method: "GET", target: "/subscriptions/sub_1OqUr5Kx7pQ2mZvN", status: 200,
			want:         map[string]any{"id": "sub_1OqUr5Kx7pQ2mZvN", "status": "*"},
			stripeMethod: "GET", stripePath: "/v1/subscriptions/sub_1OqUr5Kx7pQ2mZvN",
			params: map[string]string{"expand[0]": "latest_invoice.payment_intent"},
		},
		{
			name: "cancel subscription at period end", method: "DELETE", target: "/subscriptions/sub_123", status: 200,
			want:         map[string]any{"id": "sub_123", "cancel_at_period_end": true},
			stripeMethod: "POST", stripePath: "/v1/subscriptions/sub_123",
			params: map[string]string{"cancel_at_period_end": "true"},
		},
		{
			name: "cancel subscription, immediately=false", method: "DELETE", target: "/subscriptions/sub_123?immediately=false", status: 200,
			want:         map[string]any{"id": "sub_123"},
			stripeMethod: "POST", stripePath: "/v1/subscriptions/sub_123",
			params: map[string]string{"cancel_at_period_end": "true"},
		},
		{
			name: "cancel subscription now", method: "DELETE", target: "/subscriptions/sub_123?immediately=true", status: 200,
			want:         map[string]any{"id": "sub_123", "status": "*"},
			stripeMethod: "DELETE", stripePath: "/v1/subscriptions/sub_123",
			params: map[string]string{"!cancel_at_period_end": ""},
		},
		{
			name: "refund part", method: "POST", target: "/refunds", status: 201,
			body:         `{"payment_intent":"pi_123","amount":300,"reason":"requested_by_customer"}`,
			want:         map[string]any{"id": "re_*", "status": "succeeded", "amount": 300.0},
			stripeMethod: "POST", stripePath: "/v1/refunds",
			params: map[string]string{"payment_intent": "pi_123", "amount": "300", "reason": "requested_by_customer"},
		},
		{
			name: "refund all", method: "POST", target: "/refunds", status: 201,
			body:         `{"payment_intent":"pi_123"}`,
			want:         map[string]any{"id": "re_*"},
			stripeMethod: "POST", stripePath: "/v1/refunds",
			params: map[string]string{"payment_intent": "pi_123", "!amount": "", "!reason": ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := len(be.Calls())
			res := api.do(tt.method, tt.target, tt.body)
			if res.code != tt.status {
				t.Fatalf("status %d, want %d: %s", res.code, tt.status, res.body)
			}
			checkFields(t, res.json, tt.want)
			if res.line["stripe_request_id"] != "req_123" { // stripe-mock's
				t.Errorf("log line stripe_request_id %v, want req_123", res.line["stripe_request_id"])
			}
			calls := be.Calls()[n:]
			if len(calls) != 1 {
				t.Fatalf("%d Stripe calls, want 1: %+v", len(calls), calls)
			}
			checkCall(t, calls[0], tt.stripeMethod, tt.stripePath, tt.params)
		})
	}
}

// checkFields checks the fields of a JSON body against want (see
// TestRoutesStripeMock).
func checkFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("body has no %q: %v", k, got)
			continue
		}
		if ws, isStr := w.(string); isStr && strings.HasSuffix(ws, "*") {
			gs, _ := g.(string)
			if gs == "" || !strings.HasPrefix(gs, strings.TrimSuffix(ws, "*")) {
				t.Errorf("%s = %#v, want %s", k, g, ws)
			}
			continue
		}
		if g != w {
			t.Errorf("%s = %#v, want %#v", k, g, w)
		}
	}
}

// checkCall checks a Stripe call's method, path and parameters ("!x": x
// absent).
func checkCall(t *testing.T, c stripeCall, method, path string, params map[string]string) {
	t.Helper()
	if c.Method != method || c.Path != path {
		t.Errorf("Stripe call %s %s, want %s %s", c.Method, c.Path, method, path)
	}
	for k, v := range params {
		if name, ok := strings.CutPrefix(k, "!"); ok {
			for got := range c.Form {
				if got == name || strings.HasPrefix(got, name+"[") {
					t.Errorf("Stripe call has %s=%q, want it absent", got, c.Form.Get(got))
				}
			}
			continue
		}
		if got, ok := c.Form[k]; !ok || len(got) != 1 || got[0] != v {
			t.Errorf("Stripe call %s = %q, want %q (form %v)", k, got, v, c.Form)
		}
	}
}

// onePrice is a one-time Price in API version 2023-10-16's shape.
// stripe-mock's Price fixture is recurring, so /checkout's happy path runs
// against a stub serving this one.
const onePrice = `{
  "id": "price_1OqUr0Kx7pQ2mZvNtee", "object": "price", "active": true,
  "billing_scheme": "per_unit", "created": 1709572000, "currency": "eur",
  "custom_unit_amount": null, "livemode": false, "lookup_key": null,
  "metadata": {}, "nickname": "T-shirt", "product": "prod_PgOjTshirt",
  "recurring": null, "tax_behavior": "inclusive", "tiers_mode": null,
  "transform_quantity": null, "type": "one_time",
  "unit_amount": 2500, "unit_amount_decimal": "2500"
}`

// checkoutStub serves price (for any price id) and creates payment intents
// that echo amount and currency, as Stripe does.
func checkoutStub(price string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/prices/"):
			stubJSON(200, price)(w, r)
		case r.Method == "POST" && r.URL.Path == "/v1/payment_intents":
			r.ParseForm()
			stubJSON(200, fmt.Sprintf(`{"id":"pi_3OqUr4Kx7pQ2mZvN0chk","object":"payment_intent","amount":%s,"currency":%q,
				"client_secret":"pi_3OqUr4Kx7pQ2mZvN0chk_secret_Zt7uQx2mWb9LkR4sNp","status":"requires_payment_method",
				"capture_method":"automatic","livemode":false}`, r.PostForm.Get("amount"), r.PostForm.Get("currency")))(w, r)
		default:
			stubJSON(404, `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"Unrecognized request URL"}}`)(w, r)
		}
	}
}

// TestCheckout checks POST /checkout with a stub backend (stripe-mock's
// Price fixture is recurring, which checkout refuses): the amount is the
// price's unit_amount times the quantity, never the client's, and the
// request needs no bearer token.
func TestCheckout(t *testing.T) {
	tests := []struct {
		name, body string
		allowed    string // ALLOWED_PRICES
		price      string // the Price the stub serves
		status     int
		amount     float64
		field      string // of a 400
	}{
		{name: "quantity 3", body: `{"price":"price_1OqUr0Kx7pQ2mZvNtee","quantity":3}`, price: onePrice, status: 201, amount: 7500},
		{name: "default quantity", body: `{"price":"price_1OqUr0Kx7pQ2mZvNtee"}`, price: onePrice, status: 201, amount: 2500},
		{name: "allowed price", body: `{"price":"price_1OqUr0Kx7pQ2mZvNtee"}`, allowed: "price_other, price_1OqUr0Kx7pQ2mZvNtee", price: onePrice, status: 201, amount: 2500},
		{name: "price not allowed", body: `{"price":"price_1OqUr0Kx7pQ2mZvNtee"}`, allowed: "price_other", price: onePrice, status: 400, field: "price"},
		{name: "inactive", body: `{"price":"price_x"}`, price: strings.Replace(onePrice, `"active": true`, `"active": false`, 1), status: 400, field: "price"},
		{name: "recurring", body: `{"price":"price_x"}`, price: strings.Replace(onePrice, `"type": "one_time"`, `"type": "recurring"`, 1), status: 400, field: "price"},
		{name: "no unit amount", body: `{"price":"price_x"}`, price: strings.Replace(onePrice, `"unit_amount": 2500, "unit_amount_decimal": "2500"`, `"unit_amount": null, "unit_amount_decimal": null`, 1), status: 400, field: "price"},
		{name: "transform quantity", body: `{"price":"price_x"}`, price: strings.Replace(onePrice, `"transform_quantity": null`, `"transform_quantity": {"divide_by": 10, "round": "up"}`, 1), status: 400, field: "price"},
		{name: "amount over the maximum", body: `{"price":"price_x","quantity":100}`, price: strings.Replace(onePrice, `"unit_amount": 2500`, `"unit_amount": 1000000`, 1), status: 400, field: "quantity"},
		{name: "amount at the maximum", body: `{"price":"price_x","quantity":1}`, price: strings.Replace(onePrice, `"unit_amount": 2500`, `"unit_amount": 99999999`, 1), status: 201, amount: 99999999},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, be := newStubAPI(t, checkoutStub(tt.price), AllowedPricesSecret, tt.allowed)
			res := api.do("POST", "/checkout", tt.body, "Authorization", "", "Origin", shopOrigin)
			if res.code != tt.status {
				t.Fatalf("status %d, want %d: %s", res.code, tt.status, res.body)
			}
			calls := be.Calls()
			if tt.status != 201 {
				if res.str("field") != tt.field {
					t.Errorf("field %q, want %q: %s", res.str("field"), tt.field, res.body)
				}
				for _, c := range calls {
					if c.Method == "POST" {
						t.Errorf("a refused checkout created %s", c.Path)
					}
				}
				return
			}
			checkFields(t, res.json, map[string]any{"client_secret": "pi_3OqUr4Kx7pQ2mZvN0chk_secret_*", "publishable_key": testPK, "amount": tt.amount, "currency": "eur"})
			if len(res.json) != 4 {
				t.Errorf("body has %d fields, want client_secret, publishable_key, amount, currency: %s", len(res.json), res.body)
			}
			if len(calls) != 2 {
				t.Fatalf("%d Stripe calls, want 2 (price, payment intent): %+v", len(calls), calls)
			}
			var sent checkoutRequest
			if err := json.Unmarshal([]byte(tt.body), &sent); err != nil {
				t.Fatal(err)
			}
			checkCall(t, calls[0], "GET", "/v1/prices/"+*sent.Price, nil)
			checkCall(t, calls[1], "POST", "/v1/payment_intents", map[string]string{
				"amount": fmt.Sprint(int64(tt.amount)), "currency": "eur", "metadata[price]": "price_1OqUr0Kx7pQ2mZvNtee",
			})
		})
	}
}

// TestCheckoutStripeMock runs POST /checkout against stripe-mock, whose
// Price fixture is a recurring price: checkout looks it up and refuses it
// without creating a payment intent.
func TestCheckoutStripeMock(t *testing.T) {
	api, be := newMockAPI(t)
	res := api.do("POST", "/checkout", `{"price":"price_1OqUr0Kx7pQ2mZvN","quantity":2}`, "Authorization", "")
	if res.code != 400 || res.str("field") != "price" || !strings.Contains(res.str("error"), "one-time") {
		t.Errorf("got %d %s, want 400 naming price as not one-time", res.code, res.body)
	}
	calls := be.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d Stripe calls, want 1: %+v", len(calls), calls)
	}
	checkCall(t, calls[0], "GET", "/v1/prices/price_1OqUr0Kx7pQ2mZvN", nil)
}

// TestSubscriptionClientSecret checks the client_secret of the
// subscription shape with a stub backend answering in API version
// 2023-10-16's shape (stripe-mock's newer version has no
// invoice.payment_intent): present while the first invoice's payment is
// due, null once paid or when there is no payment intent (a trial).
func TestSubscriptionClientSecret(t *testing.T) {
	sub := func(invoice string) string {
		return `{"id":"sub_1OqUr5Kx7pQ2mZvN","object":"subscription","status":"incomplete","cancel_at_period_end":false,
			"current_period_end":1712251322,"customer":"cus_PgOjT3xWk9R2bV","latest_invoice":` + invoice + `}`
	}
	const pi = `{"id":"in_1","object":"invoice","payment_intent":{"id":"pi_1","object":"payment_intent","status":%q,"client_secret":"pi_1_secret_Qm8Zr2TxKb5Wn9"}}`
	tests := []struct {
		name, invoice string
		secret        any
	}{
		{"payment due", fmt.Sprintf(pi, "requires_payment_method"), "pi_1_secret_Qm8Zr2TxKb5Wn9"},
		{"action required", fmt.Sprintf(pi, "requires_action"), "pi_1_secret_Qm8Zr2TxKb5Wn9"},
		{"paid", fmt.Sprintf(pi, "succeeded"), nil},
		{"trial: no payment intent", `{"id":"in_1","object":"invoice","payment_intent":null}`, nil},
		{"not expanded", `"in_1"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			api, _ := newStubAPI(t, stubJSON(200, sub(tt.invoice)))
			for _, r := range []struct{ method, target, body string }{
				{"POST", "/subscriptions", `{"customer":"cus_PgOjT3xWk9R2bV","price":"price_1"}`},
				{"GET", "/subscriptions/sub_1OqUr5Kx7pQ2mZvN", ""},
			} {
				res := api.do(r.method, r.target, r.body)
				if res.code != 201 && res.code != 200 {
					t.Fatalf("%s %s: status %d: %s", r.method, r.target, res.code, res.body)
				}
				checkFields(t, res.json, map[string]any{"id": "sub_1OqUr5Kx7pQ2mZvN", "status": "incomplete", "client_secret": tt.secret, "current_period_end": 1712251322.0, "cancel_at_period_end": false})
			}
		})
	}
}

// TestRouting checks answers to requests that match no route.
func TestRouting(t *testing.T) {
	api, be := newStubAPI(t, noStripe(t))
	tests := []struct {
		method, target string
		status         int
		allow          string
	}{
		{"GET", "/", 404, ""},
		{"GET", "/nope", 404, ""},
		{"POST", "/payment-intents/", 404, ""},
		{"GET", "//health", 404, ""},
		{"GET", "/x/../health", 404, ""},
		{"POST", "/payment-intents/pi_1/refund", 404, ""},
		{"GET", "/payment-intents", 405, "POST"},
		{"PUT", "/payment-intents/pi_1", 405, "GET, HEAD"},
		{"GET", "/checkout", 405, "OPTIONS, POST"},
		{"POST", "/subscriptions/sub_1", 405, "DELETE, GET, HEAD"},
		{"POST", "/health", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			r, _ := http.NewRequestWithContext(t.Context(), tt.method, "http://pay.test", nil)
			r.URL = &url.URL{Path: tt.target} // as sent, not cleaned
			res := api.serve(r)
			if res.code != tt.status {
				t.Errorf("status %d, want %d: %s", res.code, tt.status, res.body)
			}
			if got := strings.Join(res.header.Values("Allow"), ", "); got != tt.allow {
				t.Errorf("Allow %q, want %q", got, tt.allow)
			}
			if res.str("error") == "" || res.str("request_id") != testRID {
				t.Errorf("body %s, want a JSON error with the request id", res.body)
			}
			if res.line["route"] != "" {
				t.Errorf("log route %v, want empty", res.line["route"])
			}
		})
	}
	if n := len(be.Calls()); n != 0 {
		t.Errorf("%d Stripe calls, want none", n)
	}
}

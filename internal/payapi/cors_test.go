package payapi

import (
	"strings"
	"testing"
)

// TestCORS checks the CORS headers of /checkout for allowed and other
// origins, its preflight, and that authenticated routes never get CORS
// headers. The backend is a stub serving a one-time price (stripe-mock's is
// recurring), so allowed checkouts succeed.
func TestCORS(t *testing.T) {
	api, _ := newStubAPI(t, checkoutStub(onePrice))
	const body = `{"price":"price_1OqUr0Kx7pQ2mZvNtee"}`
	tests := []struct {
		name, method, target, body string
		hdr                        []string
		status                     int
		allowOrigin                string // "" means the header must be absent
		vary                       bool   // Vary: Origin expected
	}{
		{name: "allowed origin", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", shopOrigin}, status: 201, allowOrigin: shopOrigin, vary: true},
		{name: "second allowed origin", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", "https://www.shop.example"}, status: 201, allowOrigin: "https://www.shop.example", vary: true},
		{name: "other origin", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", "https://evil.example"}, status: 201, vary: true},
		{name: "origin differing in scheme", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", "http://shop.example"}, status: 201, vary: true},
		{name: "origin with a port", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", shopOrigin + ":8443"}, status: 201, vary: true},
		{name: "origin null", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", "", "Origin", "null"}, status: 201, vary: true},
		{name: "no origin (curl, a server)", method: "POST", target: "/checkout", body: body, hdr: []string{"Authorization", ""}, status: 201, vary: true},
		{name: "allowed origin, refused checkout", method: "POST", target: "/checkout", body: `{"price":"price_1","amount":1}`, hdr: []string{"Authorization", "", "Origin", shopOrigin}, status: 400, allowOrigin: shopOrigin, vary: true},
		{name: "preflight", method: "OPTIONS", target: "/checkout", hdr: []string{"Authorization", "", "Origin", shopOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,idempotency-key"}, status: 204, allowOrigin: shopOrigin, vary: true},
		{name: "preflight, other origin", method: "OPTIONS", target: "/checkout", hdr: []string{"Authorization", "", "Origin", "https://evil.example", "Access-Control-Request-Method", "POST"}, status: 403, vary: true},
		{name: "preflight, no origin", method: "OPTIONS", target: "/checkout", hdr: []string{"Authorization", "", "Access-Control-Request-Method", "POST"}, status: 403, vary: true},
		{name: "preflight for PUT", method: "OPTIONS", target: "/checkout", hdr: []string{"Authorization", "", "Origin", shopOrigin, "Access-Control-Request-Method", "PUT"}, status: 403, vary: true},
		{name: "preflight of an authenticated route", method: "OPTIONS", target: "/payment-intents", hdr: []string{"Authorization", "", "Origin", shopOrigin, "Access-Control-Request-Method", "POST"}, status: 405},
		{name: "authenticated route from an allowed origin", method: "GET", target: "/payment-intents/pi_1", hdr: []string{"Origin", shopOrigin}, status: 200},
	}
	api2, _ := newStubAPI(t, stubJSON(200, `{"id":"pi_1","object":"payment_intent","status":"succeeded","amount":100,"amount_received":100,"currency":"usd","capture_method":"automatic"}`))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := api
			if !strings.HasPrefix(tt.target, "/checkout") {
				a = api2
			}
			res := a.do(tt.method, tt.target, tt.body, tt.hdr...)
			if res.code != tt.status {
				t.Fatalf("status %d, want %d: %s", res.code, tt.status, res.body)
			}
			if got, ok := res.header["Access-Control-Allow-Origin"]; tt.allowOrigin == "" && ok || tt.allowOrigin != "" && (len(got) != 1 || got[0] != tt.allowOrigin) {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", got, tt.allowOrigin)
			}
			if vary := strings.Join(res.header.Values("Vary"), ","); strings.Contains(vary, "Origin") != tt.vary {
				t.Errorf("Vary %q, want Origin in it: %v", vary, tt.vary)
			}
			if _, ok := res.header["Access-Control-Allow-Credentials"]; ok {
				t.Error("Access-Control-Allow-Credentials set; the API takes no credentials from browsers")
			}
			preflightOK := tt.method == "OPTIONS" && tt.status == 204
			for name, want := range map[string]string{
				"Access-Control-Allow-Methods": "POST",
				"Access-Control-Allow-Headers": "Content-Type, Idempotency-Key",
				"Access-Control-Max-Age":       "600",
			} {
				got, ok := res.header[name]
				if preflightOK && (len(got) != 1 || got[0] != want) {
					t.Errorf("%s %q, want %q", name, got, want)
				}
				if !preflightOK && ok {
					t.Errorf("%s set outside a successful preflight: %q", name, got)
				}
			}
			if preflightOK && res.body != "" {
				t.Errorf("preflight answer has a body: %q", res.body)
			}
		})
	}
}

// TestCORSNeverWildcard checks that "*" and "null" in ALLOWED_ORIGINS allow
// nothing, and that no ALLOWED_ORIGINS allows no origin.
func TestCORSNeverWildcard(t *testing.T) {
	for _, list := range []string{"*", "null", ""} {
		t.Run("ALLOWED_ORIGINS="+list, func(t *testing.T) {
			api, _ := newStubAPI(t, checkoutStub(onePrice), AllowedOriginsSecret, list)
			for _, origin := range []string{shopOrigin, "*", "null"} {
				res := api.do("OPTIONS", "/checkout", "", "Authorization", "", "Origin", origin, "Access-Control-Request-Method", "POST")
				if res.code != 403 || res.header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("Origin %s: preflight %d, Access-Control-Allow-Origin %q; want 403 and none", origin, res.code, res.header.Get("Access-Control-Allow-Origin"))
				}
				res = api.do("POST", "/checkout", `{"price":"price_1"}`, "Authorization", "", "Origin", origin)
				if res.header.Get("Access-Control-Allow-Origin") != "" {
					t.Errorf("Origin %s: POST got Access-Control-Allow-Origin %q", origin, res.header.Get("Access-Control-Allow-Origin"))
				}
			}
		})
	}
}

package payapi

import (
	"strings"
	"testing"

	"stripetask/secrets"
)

// TestHealth checks GET /health for each kind of STRIPE_KEY. It calls no
// Stripe API (the stub fails the test if reached) and reveals no secret.
func TestHealth(t *testing.T) {
	tests := []struct {
		key    string
		status int
		body   string
	}{
		{"sk_test_51Abcdefghijk", 200, `{"status":"ok","mode":"test"}`},
		{"rk_test_51Abcdefghijk", 200, `{"status":"ok","mode":"test"}`},
		{"sk_live_51Abcdefghijk", 200, `{"status":"ok","mode":"live"}`},
		{"rk_live_51Abcdefghijk", 200, `{"status":"ok","mode":"live"}`},
		{"pk_live_51Abcdefghijk", 503, `{"status":"unavailable","mode":"unknown"}`},
		{"whsec_51Abcdefghijk", 503, `{"status":"unavailable","mode":"unknown"}`},
		{"", 503, `{"status":"unavailable","mode":"unknown"}`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			be := newStripeStub(t, noStripe(t))
			api := newAPI(t, secrets.Static(testSecrets(be.URL, tt.key)))
			if tt.key != "" {
				api.leaks = append(api.leaks, tt.key)
			}
			for _, auth := range []string{"", "Bearer " + testAPIKey} {
				res := api.do("GET", "/health", "", "Authorization", auth)
				if res.code != tt.status || strings.TrimSpace(res.body) != tt.body {
					t.Errorf("auth %q: got %d %s, want %d %s", auth, res.code, res.body, tt.status, tt.body)
				}
				if res.header.Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", res.header.Get("Cache-Control"))
				}
			}
			if res := api.do("HEAD", "/health", ""); res.code != tt.status {
				t.Errorf("HEAD: status %d, want %d", res.code, tt.status)
			}
		})
	}
}

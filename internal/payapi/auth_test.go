package payapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
	"stripetask/secrets"
)

// TestAuth checks the bearer token on every authenticated route, and that
// /checkout and /health need none. The backend is stripe-mock, so that an
// authorised request gets a real answer.
func TestAuth(t *testing.T) {
	api, be := newMockAPI(t)
	routes := []struct{ method, target, body string }{
		{"POST", "/payment-intents", `{"amount":100,"currency":"usd"}`},
		{"GET", "/payment-intents/pi_1", ""},
		{"POST", "/payment-intents/pi_1/capture", ""},
		{"POST", "/payment-intents/pi_1/cancel", ""},
		{"POST", "/customers", `{"email":"j@example.com"}`},
		{"POST", "/subscriptions", `{"customer":"cus_1","price":"price_1"}`},
		{"GET", "/subscriptions/sub_1", ""},
		{"DELETE", "/subscriptions/sub_1", ""},
		{"POST", "/refunds", `{"payment_intent":"pi_1"}`},
	}
	creds := []struct {
		name, auth string
		ok         bool
		challenge  string
	}{
		{"missing", "", false, "Bearer"},
		{"wrong token", "Bearer pay_test_key_wrong", false, `Bearer error="invalid_token"`},
		{"token prefix", "Bearer " + testAPIKey[:len(testAPIKey)-1], false, `Bearer error="invalid_token"`},
		{"token plus more", "Bearer " + testAPIKey + "x", false, `Bearer error="invalid_token"`},
		{"Basic scheme", "Basic " + testAPIKey, false, "Bearer"},
		{"no scheme", testAPIKey, false, "Bearer"},
		{"empty token", "Bearer ", false, "Bearer"},
		{"right token", "Bearer " + testAPIKey, true, ""},
		{"scheme in lower case", "bearer " + testAPIKey, true, ""},
	}
	for _, rt := range routes {
		for _, c := range creds {
			t.Run(rt.method+" "+rt.target+"/"+c.name, func(t *testing.T) {
				n := len(be.Calls())
				res := api.do(rt.method, rt.target, rt.body, "Authorization", c.auth)
				if c.ok {
					if res.code != 200 && res.code != 201 {
						t.Errorf("status %d, want success: %s", res.code, res.body)
					}
					return
				}
				if res.code != 401 {
					t.Fatalf("status %d, want 401: %s", res.code, res.body)
				}
				if got := res.header.Get("WWW-Authenticate"); got != c.challenge {
					t.Errorf("WWW-Authenticate %q, want %q", got, c.challenge)
				}
				if len(be.Calls()) != n {
					t.Error("an unauthorised request reached Stripe")
				}
			})
		}
	}
	t.Run("two Authorization headers", func(t *testing.T) {
		res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", "Bearer "+testAPIKey, "Authorization", "Bearer "+testAPIKey)
		if res.code != 401 {
			t.Errorf("status %d, want 401", res.code)
		}
	})
	for _, pub := range []struct{ method, target, body string }{
		{"GET", "/health", ""},
		{"POST", "/checkout", `{"price":"price_1"}`}, // 400: stripe-mock's price is recurring
		{"OPTIONS", "/checkout", ""},
	} {
		t.Run("public "+pub.method+" "+pub.target, func(t *testing.T) {
			res := api.do(pub.method, pub.target, pub.body, "Authorization", "", "Origin", shopOrigin, "Access-Control-Request-Method", "POST")
			if res.code == 401 || res.code >= 500 {
				t.Errorf("status %d without a token: %s", res.code, res.body)
			}
		})
	}
}

// TestAuthRotation checks that every comma-separated PAY_API_KEY works.
func TestAuthRotation(t *testing.T) {
	const old, next = "pay_old_key_0a1b2c3d4e5f", "pay_new_key_f5e4d3c2b1a0"
	api, _ := newMockAPI(t, APIKeySecret, old+", "+next)
	api.leaks = append(api.leaks, old, next)
	for _, tok := range []string{old, next} {
		if res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", "Bearer "+tok); res.code != 200 {
			t.Errorf("token %s…: status %d, want 200", tok[:8], res.code)
		}
	}
	if res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", "Bearer "+old+", "+next); res.code != 401 {
		t.Errorf("the whole list as a token: status %d, want 401", res.code)
	}
}

// refreshingSource is a secrets.Refresher whose Refresh moves to a newer
// snapshot, as Secrets Manager does after a rotation.
type refreshingSource struct {
	cur, next secrets.Map
	refreshes atomic.Int32
	swapped   atomic.Bool
}

func (s *refreshingSource) Load(context.Context) (secrets.Map, error) {
	if s.swapped.Load() {
		return s.next, nil
	}
	return s.cur, nil
}

func (s *refreshingSource) Refresh(context.Context) (secrets.Map, bool, error) {
	s.refreshes.Add(1)
	s.swapped.Store(true)
	return s.next, true, nil
}

// TestAuthRefresh checks that a token matching no cached PAY_API_KEY makes
// a refreshable source fetch again, so a rotated key works at once.
func TestAuthRefresh(t *testing.T) {
	const rotated = "pay_rotated_key_77aa88bb99cc"
	be := newStripeProxy(t, stripemock.Start(t))
	src := &refreshingSource{
		cur:  testSecrets(be.URL, "sk_test_123"),
		next: testSecrets(be.URL, "sk_test_123", APIKeySecret, rotated),
	}
	api := newAPI(t, src)
	api.leaks = append(api.leaks, rotated)
	if res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", "Bearer "+rotated); res.code != 200 {
		t.Errorf("rotated key: status %d, want 200: %s", res.code, res.body)
	}
	if n := src.refreshes.Load(); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	// The retired key matches nothing, even after a refresh.
	if res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", "Bearer "+testAPIKey); res.code != 401 || src.refreshes.Load() != 2 {
		t.Errorf("retired key: status %d after %d refreshes, want 401 after 2", res.code, src.refreshes.Load())
	}
	if res := api.do("GET", "/payment-intents/pi_1", "", "Authorization", ""); res.code != 401 || src.refreshes.Load() != 2 {
		t.Errorf("no token: status %d, %d refreshes; want 401 and no refresh", res.code, src.refreshes.Load())
	}
}

// failingSource cannot load its secrets.
type failingSource struct{}

func (failingSource) Load(context.Context) (secrets.Map, error) {
	return nil, fmt.Errorf("%w: fetching secret stripetask/prod: AccessDeniedException", secrets.ErrUnavailable)
}

// TestNotConfigured checks the 503s of a function missing its secrets: the
// API fails closed, and says why in the log, not in the response. The stub
// backend fails the test if reached.
func TestNotConfigured(t *testing.T) {
	tests := []struct {
		name       string
		src        func(base string) secrets.Source
		method     string
		target     string
		body       string
		hdr        []string
		status     int
		logs       string // in the log line's error
		healthBody string // for /health
	}{
		{name: "secrets unavailable", src: func(string) secrets.Source { return failingSource{} },
			method: "GET", target: "/payment-intents/pi_1", status: 503, logs: "AccessDeniedException"},
		{name: "secrets unavailable, checkout", src: func(string) secrets.Source { return failingSource{} },
			method: "POST", target: "/checkout", body: `{"price":"price_1"}`, hdr: []string{"Authorization", ""}, status: 503, logs: "secrets unavailable"},
		{name: "secrets unavailable, preflight", src: func(string) secrets.Source { return failingSource{} },
			method: "OPTIONS", target: "/checkout", hdr: []string{"Origin", shopOrigin, "Access-Control-Request-Method", "POST"}, status: 503, logs: "secrets unavailable"},
		{name: "secrets unavailable, health", src: func(string) secrets.Source { return failingSource{} },
			method: "GET", target: "/health", status: 503, logs: "AccessDeniedException", healthBody: `{"status":"unavailable","mode":"unknown"}`},
		{name: "no PAY_API_KEY", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, stubKey, APIKeySecret, "")) },
			method: "POST", target: "/refunds", body: `{"payment_intent":"pi_1"}`, status: 503, logs: "PAY_API_KEY is not set"},
		{name: "blank PAY_API_KEY", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, stubKey, APIKeySecret, " , ")) },
			method: "POST", target: "/refunds", body: `{"payment_intent":"pi_1"}`, hdr: []string{"Authorization", "Bearer , "}, status: 503, logs: "PAY_API_KEY is not set"},
		{name: "no PAY_API_KEY, no token", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, stubKey, APIKeySecret, "")) },
			method: "GET", target: "/subscriptions/sub_1", hdr: []string{"Authorization", ""}, status: 503, logs: "PAY_API_KEY is not set"},
		{name: "no STRIPE_KEY", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, "")) },
			method: "GET", target: "/subscriptions/sub_1", status: 503, logs: "STRIPE_KEY is not set"},
		{name: "no STRIPE_KEY, checkout", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, "")) },
			method: "POST", target: "/checkout", body: `{"price":"price_1"}`, hdr: []string{"Authorization", ""}, status: 503, logs: "STRIPE_KEY is not set"},
		{name: "no STRIPE_KEY, health", src: func(b string) secrets.Source { return secrets.Static(testSecrets(b, "")) },
			method: "GET", target: "/health", status: 503, logs: "STRIPE_KEY is not set", healthBody: `{"status":"unavailable","mode":"unknown"}`},
		{name: "no STRIPE_PUBLISHABLE_KEY", src: func(b string) secrets.Source {
			return secrets.Static(testSecrets(b, stubKey, PublishableKeySecret, ""))
		},
			method: "POST", target: "/payment-intents", body: `{"amount":100,"currency":"usd"}`, status: 503, logs: "STRIPE_PUBLISHABLE_KEY is not set"},
		{name: "no STRIPE_PUBLISHABLE_KEY, checkout", src: func(b string) secrets.Source {
			return secrets.Static(testSecrets(b, stubKey, PublishableKeySecret, ""))
		},
			method: "POST", target: "/checkout", body: `{"price":"price_1"}`, hdr: []string{"Authorization", ""}, status: 503, logs: "STRIPE_PUBLISHABLE_KEY is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := newStripeStub(t, noStripe(t))
			api := newAPI(t, tt.src(be.URL))
			res := api.do(tt.method, tt.target, tt.body, tt.hdr...)
			if res.code != tt.status {
				t.Fatalf("status %d, want %d: %s", res.code, tt.status, res.body)
			}
			if tt.healthBody != "" {
				if strings.TrimSpace(res.body) != tt.healthBody {
					t.Errorf("body %s, want %s", res.body, tt.healthBody)
				}
			} else if res.str("error") == "" || strings.Contains(res.body, "_KEY") || strings.Contains(res.body, "Access") {
				t.Errorf("body %s: want a generic error naming no secret and no cause", res.body)
			}
			if msg, _ := res.line["error"].(string); !strings.Contains(msg, tt.logs) {
				t.Errorf("log error %q does not mention %q", msg, tt.logs)
			}
			if res.line["level"] != "ERROR" {
				t.Errorf("log level %v, want ERROR", res.line["level"])
			}
		})
	}
}

// TestWarm checks the cold-start log of missing secrets.
func TestWarm(t *testing.T) {
	api := newAPI(t, secrets.Static(secrets.Map{stripeclient.KeySecret: "sk_test_123"}))
	if err := api.h.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	log := api.log.String()
	for _, name := range []string{"PAY_API_KEY", "STRIPE_PUBLISHABLE_KEY"} {
		if !strings.Contains(log, name) {
			t.Errorf("cold-start log does not mention %s:\n%s", name, log)
		}
	}
	if strings.Contains(log, "STRIPE_KEY is not set") {
		t.Errorf("cold-start log complains of a STRIPE_KEY that is set:\n%s", log)
	}
	bad := newAPI(t, failingSource{})
	if err := bad.h.Warm(t.Context()); !errors.Is(err, secrets.ErrUnavailable) {
		t.Errorf("Warm with unavailable secrets: %v, want secrets.ErrUnavailable", err)
	}
}

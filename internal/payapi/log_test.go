package payapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"stripetask/secrets"
)

// TestRequestLog checks the fields of the one log line per request, against
// stripe-mock for the success and a stub-free validation failure.
func TestRequestLog(t *testing.T) {
	api, _ := newMockAPI(t)
	tests := []struct {
		name, method, target, body string
		level, route               string
		status                     float64
		stripe                     bool // stripe_request_id expected
		err                        string
	}{
		{name: "success", method: "POST", target: "/customers", body: `{"email":"j@example.com"}`, level: "INFO", route: "POST /customers", status: 201, stripe: true},
		{name: "validation", method: "POST", target: "/customers", body: `{"email":"nope"}`, level: "WARN", route: "POST /customers", status: 400, err: "email must be"},
		{name: "unauthorised", method: "GET", target: "/payment-intents/pi_1", level: "WARN", route: "GET /payment-intents/{id}", status: 401, err: "bearer token"},
		{name: "health", method: "GET", target: "/health", level: "INFO", route: "GET /health", status: 200},
		{name: "not found", method: "GET", target: "/nope", level: "WARN", route: "", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			if tt.status == 401 {
				hdr = []string{"Authorization", "Bearer wrong-token-123456"}
			}
			res := api.do(tt.method, tt.target, tt.body, hdr...)
			line := res.line
			want := map[string]any{"level": tt.level, "msg": "request", "request_id": testRID, "route": tt.route, "method": tt.method, "status": tt.status}
			for k, v := range want {
				if line[k] != v {
					t.Errorf("%s = %#v, want %#v", k, line[k], v)
				}
			}
			if d, ok := line["duration_ms"].(float64); !ok || d < 0 || d > 30000 {
				t.Errorf("duration_ms = %#v", line["duration_ms"])
			}
			if _, ok := line["stripe_request_id"]; ok != tt.stripe {
				t.Errorf("stripe_request_id %v, want present: %v", line["stripe_request_id"], tt.stripe)
			}
			msg, hasErr := line["error"].(string)
			if hasErr != (tt.err != "") || !strings.Contains(msg, tt.err) {
				t.Errorf("error %q, want %q", msg, tt.err)
			}
			for k := range line {
				switch k {
				case "time", "level", "msg", "request_id", "route", "method", "status", "stripe_request_id", "duration_ms", "error":
				default:
					t.Errorf("unexpected log field %s", k)
				}
			}
		})
	}
	if strings.Contains(api.log.String(), "wrong-token-123456") {
		t.Error("the log reveals the token a client sent")
	}
}

// TestRedactInLog checks that the request line redacts a secret quoted by
// an error. No error of this package quotes one; this is the safety net.
func TestRedactInLog(t *testing.T) {
	api, _ := newStubAPI(t, noStripe(t))
	api.h.logRequest(t.Context(), logEntry{rid: testRID, route: "GET /x", method: "GET", status: 500,
		err: errors.New("boom: " + testAPIKey), secrets: secrets.Map{APIKeySecret: testAPIKey}})
	lines := api.log.Messages(t, "request")
	if len(lines) != 1 || lines[0]["error"] != "boom: [PAY_API_KEY]" {
		t.Errorf("log not redacted: %v", lines)
	}
}

// TestConcurrent serves many requests at once against stripe-mock, for the
// race detector: the handler, its Stripe client cache and its log are
// shared.
func TestConcurrent(t *testing.T) {
	api, _ := newMockAPI(t)
	const n = 24
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		// Not api.do: its one-line-per-request check reads the log
		// between requests, which concurrent requests interleave.
		var r *http.Request
		switch i % 3 {
		case 0:
			r = newRequest(t, "POST", "/payment-intents", `{"amount":100,"currency":"usd"}`)
		case 1:
			r = newRequest(t, "GET", "/subscriptions/sub_1", "")
		default:
			r = newRequest(t, "GET", "/health", "")
		}
		wg.Go(func() {
			w := httptest.NewRecorder()
			api.h.ServeHTTP(w, r)
			codes[i] = w.Code
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != 200 && c != 201 {
			t.Errorf("request %d: status %d", i, c)
		}
	}
	if got := len(api.log.Messages(t, "request")); got != n {
		t.Errorf("%d request lines, want %d", got, n)
	}
}

package payapi

import (
	"context"
	"net/http"
	"strings"

	"stripetask/internal/stripeclient"
)

// healthBody answers GET /health. It holds no secret.
type healthBody struct {
	Status string `json:"status"` // "ok" or "unavailable"
	Mode   string `json:"mode"`   // "test", "live" or "unknown"
}

// unavailable is the body of an unhealthy function.
var unavailable = healthBody{Status: "unavailable", Mode: "unknown"}

// health serves GET /health: 200 with the mode of STRIPE_KEY, or 503 when
// there is no usable key. It calls nothing.
func (h *Handler) health(ctx context.Context, c *call) (int, any, error) {
	key := c.secrets[stripeclient.KeySecret]
	if key == "" {
		return http.StatusServiceUnavailable, unavailable, errNoStripeKey
	}
	mode := keyMode(key)
	if mode == "unknown" {
		return http.StatusServiceUnavailable, unavailable, errUnknownKey
	}
	return http.StatusOK, healthBody{Status: "ok", Mode: mode}, nil
}

// keyMode returns "test" or "live" from a secret or restricted key's
// prefix, else "unknown".
func keyMode(key string) string {
	switch {
	case strings.HasPrefix(key, "sk_test_"), strings.HasPrefix(key, "rk_test_"):
		return "test"
	case strings.HasPrefix(key, "sk_live_"), strings.HasPrefix(key, "rk_live_"):
		return "live"
	}
	return "unknown"
}

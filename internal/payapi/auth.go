package payapi

import (
	"context"
	"net/http"
	"strings"

	"stripetask/secrets"
)

// authorize checks "Authorization: Bearer <token>" against PAY_API_KEY
// (any of its comma-separated values). With no PAY_API_KEY every request is
// refused with 503: the API fails closed. A token that matches none of the
// cached keys makes a refreshable source fetch once more (it limits how
// often), in case the key was rotated since the snapshot.
func (h *Handler) authorize(ctx context.Context, c *call) error {
	keys := c.secrets.List(APIKeySecret)
	if len(keys) == 0 {
		return &apiError{status: http.StatusServiceUnavailable, msg: "API authentication is not configured", err: errAuthNotConfigured}
	}
	token, ok := bearer(c.r.Header)
	if ok && tokenMatches(token, keys) {
		return nil
	}
	if ok {
		if fresh, fetched := h.refresh(ctx); fetched {
			c.secrets = fresh
			if tokenMatches(token, fresh.List(APIKeySecret)) {
				return nil
			}
		}
	}
	challenge := "Bearer"
	if ok {
		challenge = `Bearer error="invalid_token"`
	}
	c.w.Header().Set("WWW-Authenticate", challenge)
	return &apiError{status: http.StatusUnauthorized, msg: "unauthorized: send Authorization: Bearer <PAY_API_KEY>", err: errUnauthorized}
}

// bearer returns the token of the request's single Authorization header
// with the Bearer scheme (in any case).
func bearer(h http.Header) (string, bool) {
	vs := h.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(vs[0], " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
}

// tokenMatches compares token with every key in constant time: both sides
// are hashed first, so neither their content nor their length leaks through
// timing, and every key is compared.
func tokenMatches(token string, keys []string) bool {
	return secrets.MatchAny(token, keys...)
}

// refresh asks a refreshable source for a newer snapshot; fetched is false
// when there is none (the source cannot refresh, refreshed recently, or
// failed, which is logged).
func (h *Handler) refresh(ctx context.Context) (secrets.Map, bool) {
	m, fetched, err := secrets.Refresh(ctx, h.cfg.Secrets)
	if err != nil {
		// The secrets source's own error: it never contains a secret value
		// (secrets.Source).
		h.log.Error("refetching secrets after a bearer token mismatch failed", "error", err.Error())
		return nil, false
	}
	return m, fetched
}

package payapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
)

// CORS of the browser routes.
const (
	corsMethods = "POST"
	corsHeaders = "Content-Type, Idempotency-Key"
	corsMaxAge  = 600 // seconds browsers may cache a preflight answer
)

// origin returns the request's Origin when it is one of ALLOWED_ORIGINS.
// Origins match exactly; "*" and "null" in the list match nothing, and no
// list allows no origin.
func origin(c *call) (string, bool) {
	o := c.r.Header.Get("Origin")
	if o == "" || o == "null" || o == "*" {
		return "", false
	}
	return o, slices.Contains(c.secrets.List(AllowedOriginsSecret), o)
}

// allowOrigin lets the browser read the answer of an allowed origin. A
// request from any other origin is still served (it is not a browser's, or
// the browser hides the answer) but gets no CORS header.
func allowOrigin(c *call) {
	if o, ok := origin(c); ok {
		c.w.Header().Set("Access-Control-Allow-Origin", o)
	}
}

// answerPreflight answers the CORS preflight (OPTIONS) of a browser route:
// 204 with the allowed method and headers for an allowed origin asking for
// POST, 403 without CORS headers otherwise.
func answerPreflight(c *call) (int, any, error) {
	h := c.w.Header()
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	o, ok := origin(c)
	if !ok {
		return 0, nil, &apiError{status: http.StatusForbidden, msg: "origin not allowed",
			err: fmt.Errorf("%w: %q", errOriginRefused, c.r.Header.Get("Origin"))}
	}
	if m := c.r.Header.Get("Access-Control-Request-Method"); m != http.MethodPost {
		return 0, nil, &apiError{status: http.StatusForbidden, msg: "method not allowed by CORS: use POST",
			err: fmt.Errorf("preflight for method %q", m)}
	}
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Methods", corsMethods)
	h.Set("Access-Control-Allow-Headers", corsHeaders)
	h.Set("Access-Control-Max-Age", strconv.Itoa(corsMaxAge))
	return http.StatusNoContent, nil, nil
}

package payapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
	"stripetask/secrets"
)

// access says who may call a route and what it needs.
type access int

const (
	private   access = iota // bearer token; calls Stripe
	browser                 // public, CORS from ALLOWED_ORIGINS; calls Stripe
	preflight               // the CORS preflight of a browser route
	health                  // public; no Stripe call
)

// handlerFunc serves one route once the request is authorised. It returns
// the status and body of a success, or an error: a *fieldError, an
// *apiError, or a Stripe failure wrapped by stripeFailed. A body returned
// together with an error is sent as it is, and the error only logged.
type handlerFunc func(ctx context.Context, c *call) (status int, body any, err error)

// call is the state of one request.
type call struct {
	w       http.ResponseWriter
	r       *http.Request
	ctx     context.Context // the request's, ending before its deadline (function.Budget)
	route   string          // the ServeMux pattern
	secrets secrets.Map     // the snapshot of this request
	stripe  *client.API
	idemKey string // the scoped Stripe idempotency key; "" for none
	// stripeRequestID is the Request-Id of the last Stripe response.
	stripeRequestID string
}

// write prepares the params of a Stripe call that changes something: the
// request's context and, when the client sent one, its scoped idempotency
// key. Without one, stripe-go generates a key that its retries reuse.
func (c *call) write(p *stripe.Params) {
	p.Context = c.ctx
	if c.idemKey != "" {
		p.SetIdempotencyKey(c.idemKey)
	}
}

// read prepares the params of a Stripe call that reads.
func (c *call) read(p *stripe.Params) {
	p.Context = c.ctx
}

// seen records the Stripe request id of a successful call.
func (c *call) seen(res *stripe.APIResponse) {
	if res != nil && res.RequestID != "" {
		c.stripeRequestID = res.RequestID
	}
}

// handle registers fn for pattern with the given access.
func (h *Handler) handle(pattern string, a access, fn handlerFunc) {
	h.patterns = append(h.patterns, pattern)
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h.serve(w, r, pattern, a, fn)
	})
}

// serve runs one routed request: it answers and writes the log line.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, route string, a access, fn handlerFunc) {
	start := h.cfg.Now()
	rid := h.cfg.RequestID(r.Context())
	// Stripe calls and secrets end in time for this function's own answer
	// (504 for a Stripe API that does not answer), before the invocation's
	// deadline.
	ctx, cancel := function.Budget(r.Context(), start)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	c := &call{w: w, r: r, ctx: ctx, route: route}
	status, body, err := h.run(ctx, c, a, fn)
	if err != nil {
		var se *stripe.Error
		if errors.As(err, &se) && se.RequestID != "" {
			c.stripeRequestID = se.RequestID
		}
		if body == nil {
			e := classify(err)
			if e.stripeRequestID == "" {
				e.stripeRequestID = c.stripeRequestID
			}
			writeError(w, e, rid)
			status = e.status
		}
	}
	if body != nil {
		writeJSON(w, status, body)
	} else if err == nil {
		w.WriteHeader(status)
	}
	h.logRequest(ctx, logEntry{
		rid: rid, route: route, method: r.Method, status: status,
		stripeRequestID: c.stripeRequestID, err: err, secrets: c.secrets,
		took: h.cfg.Now().Sub(start),
	})
}

// run applies the checks every route shares, in order: secrets, CORS,
// authentication, the Idempotency-Key header and the Stripe key; then fn.
func (h *Handler) run(ctx context.Context, c *call, a access, fn handlerFunc) (int, any, error) {
	if a == browser || a == preflight {
		c.w.Header().Add("Vary", "Origin")
	}
	m, err := h.cfg.Secrets.Load(ctx)
	if err != nil {
		e := &apiError{status: http.StatusServiceUnavailable, msg: "secrets unavailable", err: err}
		if a == health {
			return http.StatusServiceUnavailable, unavailable, e
		}
		return 0, nil, e
	}
	c.secrets = m
	switch a {
	case preflight:
		return answerPreflight(c)
	case browser:
		allowOrigin(c)
	case private:
		if err := h.authorize(ctx, c); err != nil {
			return 0, nil, err
		}
	case health:
		return fn(ctx, c)
	}
	if c.idemKey, err = idempotencyKey(c.r.Header, c.route); err != nil {
		return 0, nil, err
	}
	if c.secrets[stripeclient.KeySecret] == "" {
		return 0, nil, &apiError{status: http.StatusServiceUnavailable, msg: "payment provider is not configured", err: errNoStripeKey}
	}
	c.stripe = h.cfg.Stripe.Client(c.secrets)
	return fn(ctx, c)
}

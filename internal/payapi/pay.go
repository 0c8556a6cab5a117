// Package pay is the payments API: a JSON-over-HTTP front for the Stripe
// objects a shop needs (payment intents, customers, subscriptions, refunds)
// so that the secret key stays server-side and browsers only ever receive a
// client secret and the publishable key.
//
// Every route but POST /checkout and GET /health needs
// "Authorization: Bearer <PAY_API_KEY>". Requests are validated completely
// before any Stripe call; Stripe's errors are mapped to statuses of this API
// and never passed through raw. Each request writes one JSON log line,
// "msg":"request", with no secret in it. See the package's README section for
// the routes and the error table.
package payapi

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"slices"

	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
)

// Secret names read by this package, besides stripeclient.KeySecret
// (STRIPE_KEY) and stripeclient.APIBaseSecret (STRIPE_API_BASE).
const (
	// PublishableKeySecret is the pk_ key handed to browsers with a client
	// secret.
	PublishableKeySecret = "STRIPE_PUBLISHABLE_KEY"
	// APIKeySecret is the bearer token of the authenticated routes; several
	// comma-separated tokens are all accepted, for rotation.
	APIKeySecret = "PAY_API_KEY"
	// AllowedPricesSecret, when set, is the comma-separated list of the only
	// price IDs POST /checkout sells.
	AllowedPricesSecret = "ALLOWED_PRICES"
	// AllowedOriginsSecret is the comma-separated list of exact origins
	// ("https://shop.example") allowed to call POST /checkout from a browser.
	AllowedOriginsSecret = "ALLOWED_ORIGINS"
)

// Config configures a Handler. Deps.Secrets supplies STRIPE_KEY,
// STRIPE_PUBLISHABLE_KEY, PAY_API_KEY and the optional ALLOWED_PRICES,
// ALLOWED_ORIGINS and STRIPE_API_BASE; it is required.
type Config struct {
	function.Deps
}

// Handler is the payments API's http.Handler. Create it with New.
type Handler struct {
	cfg      Config
	log      *slog.Logger
	mux      *http.ServeMux
	patterns []string // the routes, as registered
	warm     function.Warmup
}

// Routes returns the routes the API serves, as ServeMux patterns
// ("POST /payment-intents", "GET /payment-intents/{id}", ...). The SAM
// template must route exactly these to the function; a test checks it.
func Routes() []string {
	return slices.Clone(New(Config{}).patterns)
}

// New returns a Handler serving every route of the API.
func New(cfg Config) *Handler {
	cfg.Deps = cfg.Deps.WithDefaults()
	h := &Handler{cfg: cfg, log: cfg.Log, mux: http.NewServeMux()}
	h.routes()
	return h
}

// routes registers every route. The patterns are also the "route" of the
// log line and the scope of idempotency keys.
func (h *Handler) routes() {
	h.handle("POST /payment-intents", private, h.createPaymentIntent)
	h.handle("GET /payment-intents/{id}", private, h.getPaymentIntent)
	h.handle("POST /payment-intents/{id}/capture", private, h.capturePaymentIntent)
	h.handle("POST /payment-intents/{id}/cancel", private, h.cancelPaymentIntent)
	h.handle("POST /customers", private, h.createCustomer)
	h.handle("POST /subscriptions", private, h.createSubscription)
	h.handle("GET /subscriptions/{id}", private, h.getSubscription)
	h.handle("DELETE /subscriptions/{id}", private, h.cancelSubscription)
	h.handle("POST /refunds", private, h.createRefund)
	h.handle("POST /checkout", browser, h.checkout)
	h.handle("OPTIONS /checkout", preflight, nil)
	h.handle("GET /health", health, h.health)
}

// Warm loads the secrets and logs what is missing from them, so that a
// misconfigured function says so at its cold start rather than at its first
// request. It does so once: after a success it returns nil at once. A
// failure is returned, and requests answer 503 until the secrets load.
func (h *Handler) Warm(ctx context.Context) error {
	return h.warm.Do(ctx, func(ctx context.Context) error {
		m, err := h.cfg.Secrets.Load(ctx)
		if err != nil {
			return err
		}
		if m[stripeclient.KeySecret] == "" {
			h.log.Error("STRIPE_KEY is not set: every route but /health answers 503 until it is")
		}
		if len(m.List(APIKeySecret)) == 0 {
			h.log.Error("PAY_API_KEY is not set: every authenticated route answers 503 until it is")
		}
		if m[PublishableKeySecret] == "" {
			h.log.Warn("STRIPE_PUBLISHABLE_KEY is not set: POST /payment-intents and POST /checkout answer 503 until it is")
		}
		return nil
	})
}

// ServeHTTP routes the request. A path that is not in canonical form or
// matches no route is 404; a route served for other methods is 405 with
// Allow. Both answer JSON, like every other response.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == "" || p[0] != '/' || path.Clean(p) != p {
		// ServeMux would redirect; an API client wants a plain 404.
		h.unrouted(w, r, http.StatusNotFound, nil)
		return
	}
	mh, pattern := h.mux.Handler(r)
	if pattern == "" {
		rec := &headerRecorder{header: make(http.Header)}
		mh.ServeHTTP(rec, r)
		if rec.status == http.StatusMethodNotAllowed {
			h.unrouted(w, r, http.StatusMethodNotAllowed, rec.header.Values("Allow"))
			return
		}
		h.unrouted(w, r, http.StatusNotFound, nil)
		return
	}
	h.mux.ServeHTTP(w, r) // sets r.Pattern and the path values
}

// unrouted answers a request that matched no route.
func (h *Handler) unrouted(w http.ResponseWriter, r *http.Request, status int, allow []string) {
	start := h.cfg.Now()
	rid := h.cfg.RequestID(r.Context())
	w.Header().Set("Cache-Control", "no-store")
	e := &apiError{status: status, msg: "not found"}
	if status == http.StatusMethodNotAllowed {
		e.msg = "method not allowed"
		for _, a := range allow {
			w.Header().Add("Allow", a)
		}
	}
	writeError(w, e, rid)
	h.logRequest(r.Context(), logEntry{rid: rid, method: r.Method, status: status, took: h.cfg.Now().Sub(start)})
}

// headerRecorder is the http.ResponseWriter that ServeMux's own 404 and
// 405 handlers write to, to learn the status and the Allow header.
type headerRecorder struct {
	header http.Header
	status int
}

func (r *headerRecorder) Header() http.Header         { return r.header }
func (r *headerRecorder) Write(p []byte) (int, error) { return len(p), nil }
func (r *headerRecorder) WriteHeader(status int)      { r.status = status }

// Package stripeclient builds stripe-go API clients from the function's
// secrets and reuses them until those secrets change.
//
// A client is configured with the STRIPE_KEY secret and, when set, the
// STRIPE_API_BASE secret as the base URL of every Stripe API (for
// stripe-mock). stripe-go's own network retries stay on, and its log lines
// go to the function's slog logger at warning level and above.
package stripeclient

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"stripetask/secrets"
)

// Secret names read by this package.
const (
	KeySecret     = "STRIPE_KEY"      // the secret (or restricted) API key
	APIBaseSecret = "STRIPE_API_BASE" // optional base URL, e.g. http://127.0.0.1:12111
)

// MaxNetworkRetries is how often stripe-go retries a failed request (network
// errors, 409, 429 and 5xx as stripe-go decides), reusing its idempotency key.
const MaxNetworkRetries = 2

// DefaultTimeout bounds one HTTP request to Stripe, below API Gateway's 29 s.
const DefaultTimeout = 20 * time.Second

// Cache hands out one client per (STRIPE_KEY, STRIPE_API_BASE) pair, so a
// rotated key takes effect with the next secrets snapshot. It is safe for
// concurrent use; the zero value is not: use NewCache.
type Cache struct {
	httpClient *http.Client
	log        *slog.Logger
	cur        atomic.Pointer[entry]
}

type entry struct {
	key, base string
	api       *client.API
}

// NewCache returns a Cache whose clients use httpClient (nil: a client with
// DefaultTimeout) and log to log.
func NewCache(httpClient *http.Client, log *slog.Logger) *Cache {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Cache{httpClient: httpClient, log: log}
}

// Client returns the client for the secrets in m. A missing STRIPE_KEY yields
// a client whose calls fail with Stripe's authentication error.
func (c *Cache) Client(m secrets.Map) *client.API {
	key, base := m[KeySecret], m[APIBaseSecret]
	if e := c.cur.Load(); e != nil && e.key == key && e.base == base {
		return e.api
	}
	e := &entry{key: key, base: base, api: New(key, base, c.httpClient, c.log)}
	c.cur.Store(e)
	return e.api
}

// New returns a client for key whose requests go to base (empty: Stripe's
// own hosts) through httpClient (nil: one with DefaultTimeout), logging to
// log (nil: nowhere).
func New(key, base string, httpClient *http.Client, log *slog.Logger) *client.API {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: DefaultTimeout}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backend := func(t stripe.SupportedBackend) stripe.Backend {
		cfg := &stripe.BackendConfig{
			HTTPClient:        httpClient,
			LeveledLogger:     Logger{log},
			MaxNetworkRetries: stripe.Int64(MaxNetworkRetries),
		}
		if base != "" {
			cfg.URL = stripe.String(base)
		}
		return stripe.GetBackendWithConfig(t, cfg)
	}
	return client.New(key, &stripe.Backends{
		API:     backend(stripe.APIBackend),
		Connect: backend(stripe.ConnectBackend),
		Uploads: backend(stripe.UploadsBackend),
	})
}

// Logger adapts an slog.Logger to stripe-go's LeveledLoggerInterface. Debug
// and info lines are dropped: they describe every request. stripe-go quotes
// Stripe's error messages, and a server may quote the API key in them
// (stripe-mock does; Stripe masks it): anything shaped like a secret key or
// a signing secret is masked before the line is written.
type Logger struct{ L *slog.Logger }

// keyPattern matches Stripe secret and restricted keys and webhook signing
// secrets.
var keyPattern = regexp.MustCompile(`\b((?:sk|rk)_(?:test|live)_|whsec_)[0-9A-Za-z]+`)

// mask replaces the secret part of every key in s.
func mask(s string) string { return keyPattern.ReplaceAllString(s, "${1}[redacted]") }

// Debugf drops the line.
func (Logger) Debugf(string, ...any) {}

// Infof drops the line.
func (Logger) Infof(string, ...any) {}

// Warnf logs at warning level.
func (l Logger) Warnf(format string, v ...any) {
	l.L.Log(context.Background(), slog.LevelWarn, mask(fmt.Sprintf(format, v...)), "source", "stripe-go")
}

// Errorf logs at error level.
func (l Logger) Errorf(format string, v ...any) {
	l.L.Log(context.Background(), slog.LevelError, mask(fmt.Sprintf(format, v...)), "source", "stripe-go")
}

// Package stripeclient builds stripe-go API clients from the function's
// secrets and reuses them until those secrets change.
//
// A client is configured with the STRIPE_KEY secret and, when set, the
// STRIPE_API_BASE secret as the base URL of every Stripe API (for
// stripe-mock). stripe-go's own network retries stay on, and its log lines
// go to the function's slog logger at warning level and above.
package stripeclient

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"

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

	mu       sync.Mutex
	accounts map[string]*client.API // per connected account, for cur's key and base
	accFor   *entry                 // the entry accounts belong to
}

// MaxAccounts bounds how many connected accounts' clients a Cache keeps.
const MaxAccounts = 256

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

// ClientFor returns the client for the secrets in m that acts on the
// connected account account (Stripe Connect): every call made through it
// carries Stripe-Account: account, unless the call sets its own account in
// its params. An empty account is Client(m).
func (c *Cache) ClientFor(m secrets.Map, account string) *client.API {
	if account == "" {
		return c.Client(m)
	}
	c.Client(m) // make cur the entry for m
	e := c.cur.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.accFor != e || len(c.accounts) >= MaxAccounts {
		c.accounts, c.accFor = map[string]*client.API{}, e
	}
	api, ok := c.accounts[account]
	if !ok {
		api = newClient(e.key, e.base, c.httpClient, c.log, func(b stripe.Backend) stripe.Backend {
			return &accountBackend{next: b, account: account}
		})
		c.accounts[account] = api
	}
	return api
}

// New returns a client for key whose requests go to base (empty: Stripe's
// own hosts) through httpClient (nil: one with DefaultTimeout), logging to
// log (nil: nowhere).
func New(key, base string, httpClient *http.Client, log *slog.Logger) *client.API {
	return newClient(key, base, httpClient, log, nil)
}

// newClient is New with each backend passed through wrap, if not nil.
func newClient(key, base string, httpClient *http.Client, log *slog.Logger, wrap func(stripe.Backend) stripe.Backend) *client.API {
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
		b := stripe.GetBackendWithConfig(t, cfg)
		if wrap != nil {
			b = wrap(b)
		}
		return b
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

// accountBackend makes every call act on a connected account: it sets
// Params.StripeAccount for the call when the call's params leave it unset,
// and restores them afterwards, so params reused for another call are as
// they were.
type accountBackend struct {
	next    stripe.Backend
	account string
}

// params returns the params to send and a function restoring the caller's.
func (b *accountBackend) params(pc stripe.ParamsContainer) (stripe.ParamsContainer, func()) {
	if pc == nil || isNil(pc) {
		return &stripe.Params{StripeAccount: stripe.String(b.account)}, func() {}
	}
	p := pc.GetParams()
	if p == nil || p.StripeAccount != nil {
		return pc, func() {}
	}
	p.StripeAccount = stripe.String(b.account)
	return pc, func() { p.StripeAccount = nil }
}

// rawParams is params for the calls that take *stripe.Params.
func (b *accountBackend) rawParams(p *stripe.Params) (*stripe.Params, func()) {
	if p == nil {
		return &stripe.Params{StripeAccount: stripe.String(b.account)}, func() {}
	}
	if p.StripeAccount != nil {
		return p, func() {}
	}
	p.StripeAccount = stripe.String(b.account)
	return p, func() { p.StripeAccount = nil }
}

func isNil(pc stripe.ParamsContainer) bool {
	v := reflect.ValueOf(pc)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Call implements stripe.Backend.
func (b *accountBackend) Call(method, path, key string, params stripe.ParamsContainer, v stripe.LastResponseSetter) error {
	p, restore := b.params(params)
	defer restore()
	return b.next.Call(method, path, key, p, v)
}

// CallStreaming implements stripe.Backend.
func (b *accountBackend) CallStreaming(method, path, key string, params stripe.ParamsContainer, v stripe.StreamingLastResponseSetter) error {
	p, restore := b.params(params)
	defer restore()
	return b.next.CallStreaming(method, path, key, p, v)
}

// CallRaw implements stripe.Backend.
func (b *accountBackend) CallRaw(method, path, key string, body *form.Values, params *stripe.Params, v stripe.LastResponseSetter) error {
	p, restore := b.rawParams(params)
	defer restore()
	return b.next.CallRaw(method, path, key, body, p, v)
}

// CallMultipart implements stripe.Backend.
func (b *accountBackend) CallMultipart(method, path, key, boundary string, body *bytes.Buffer, params *stripe.Params, v stripe.LastResponseSetter) error {
	p, restore := b.rawParams(params)
	defer restore()
	return b.next.CallMultipart(method, path, key, boundary, body, p, v)
}

// SetMaxNetworkRetries implements stripe.Backend.
func (b *accountBackend) SetMaxNetworkRetries(n int64) { b.next.SetMaxNetworkRetries(n) }

// Package delivery serves Stripe webhook deliveries over HTTP: it
// authenticates each request, hands the event to a dispatch.Dispatcher and
// turns the outcome into a status code Stripe acts on.
//
// The policy, in order: a method other than POST is 405; secrets that cannot
// be loaded, a failed Init, or no authentication configured is 503 (fail
// closed, never dispatch); wrong Basic credentials are 401; a body over 1 MiB
// is 413; a missing, malformed, expired or non-matching Stripe-Signature is
// 400; a body that is not an event is 400; a handled event is 200
// {"status":"handled"}, one with no method and no Default 200
// {"status":"ignored"}; a handler error or panic is 500. Stripe retries every
// non-2xx answer, so exactly what failed is delivered again.
//
// With a dedup store (Config.Dedup), an event with a method is first claimed
// by its id: a delivery of an event already handled answers 200
// {"status":"duplicate"} without calling the method; one that arrives while
// another invocation holds a live claim answers 409, so Stripe tries again
// later; a store that cannot answer is 503 (never run unrecorded). A handler
// error or panic releases the claim so the retry runs; success marks the
// event completed. Ignored events are not recorded.
//
// Responses carry no secret, key, error text from handlers or stack; those go
// to the log, which has one JSON line per delivery.
package delivery

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/dedup"
	"stripetask/dispatch"
	"stripetask/logattr"
	"stripetask/secrets"
	"stripetask/stripeclient"
)

// Secret names read by this package.
const (
	// WebhookSecret holds one or more whsec_ signing secrets, comma-separated;
	// a delivery signed with any of them is accepted (for rotation).
	WebhookSecret = "STRIPE_WEBHOOK_SECRET"
	// BasicAuthSecret holds "user:password" for HTTP Basic authentication.
	BasicAuthSecret = "BASIC_AUTH"
)

// MaxBodyBytes is the largest body accepted: 1 MiB. Stripe's events are far
// smaller.
const MaxBodyBytes = 1 << 20

// DefaultTolerance is how far a signature's timestamp may be from the
// current time, in either direction.
const DefaultTolerance = webhook.DefaultTolerance

// ErrFutureTimestamp reports a Stripe-Signature whose timestamp is further in
// the future than the tolerance. stripe-go v76 only checks the past
// (webhook.ErrTooOld); a signature from the future is a replay risk as well.
var ErrFutureTimestamp = errors.New("signature timestamp is in the future")

// Config configures a Handler.
type Config struct {
	// Dispatcher routes verified events to handler methods. Required.
	Dispatcher *dispatch.Dispatcher
	// Secrets supplies STRIPE_WEBHOOK_SECRET, BASIC_AUTH, STRIPE_KEY and the
	// user's own secrets. Required.
	Secrets secrets.Source
	// Log receives one line per delivery. Nil discards.
	Log *slog.Logger
	// Tolerance bounds the signature timestamp's distance from now; zero
	// means DefaultTolerance.
	Tolerance time.Duration
	// Stripe builds the handlers' Stripe client; nil means one with default
	// settings logging to Log.
	Stripe *stripeclient.Cache
	// RequestID extracts the invocation's request id from a request's
	// context (transport.RequestID). Nil leaves it empty.
	RequestID func(context.Context) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Dedup, when set, makes each event's method run to success at most
	// once: see the package documentation. Nil dispatches every delivery.
	Dedup dedup.Store
}

// DefaultLease is how long a claim on an event lasts when the request has no
// deadline (the local modes); in Lambda the claim ends at the invocation's
// deadline.
const DefaultLease = 30 * time.Second

// Handler is the webhook's http.Handler. Create it with New.
type Handler struct {
	cfg  Config
	log  *slog.Logger
	warm atomic.Bool
	mu   sync.Mutex // serialises Warm

	secretList derived[[]string] // STRIPE_WEBHOOK_SECRET, split
}

// New returns a Handler. Call Warm at start-up to load secrets and run the
// Handler's Init before the first delivery.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	if cfg.Stripe == nil {
		cfg.Stripe = stripeclient.NewCache(nil, cfg.Log)
	}
	if cfg.RequestID == nil {
		cfg.RequestID = func(context.Context) string { return "" }
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Handler{cfg: cfg, log: cfg.Log}
}

// Warm loads the secrets and runs the Handler's Init, once. It is called by
// every delivery until it succeeds, so a cold start that could not reach its
// secrets recovers on the next invocation.
func (h *Handler) Warm(ctx context.Context) error {
	if h.warm.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.warm.Load() {
		return nil
	}
	m, err := h.cfg.Secrets.Load(ctx)
	if err != nil {
		return err
	}
	if m[stripeclient.KeySecret] == "" {
		h.log.Warn("STRIPE_KEY is not set: calls through h.Stripe will fail with an authentication error")
	}
	if m[WebhookSecret] == "" && m[BasicAuthSecret] == "" {
		h.log.Error("no webhook authentication configured: set STRIPE_WEBHOOK_SECRET (and/or BASIC_AUTH); every delivery is refused with 503 until then")
	}
	env := dispatch.Env{Stripe: h.cfg.Stripe.Client(m), Secrets: m, Log: h.log}
	if err := h.cfg.Dispatcher.Init(ctx, env); err != nil {
		return err
	}
	h.warm.Store(true)
	return nil
}

// result is the outcome of one delivery: what to answer and what to log.
type result struct {
	status  int
	outcome string // handled, ignored, or a short error class
	public  string // the error message for the response body
	err     error  // the full error, for the log only
	dl      *dispatch.Delivery
	stack   []byte
	secrets secrets.Map // to redact from err and stack before logging
}

// Precomputed success bodies: the hot path allocates none.
var (
	handledBody   = []byte(`{"status":"handled"}` + "\n")
	duplicateBody = []byte(`{"status":"duplicate"}` + "\n")
	ignoredBody   = []byte(`{"status":"ignored"}` + "\n")
)

// ServeHTTP serves one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.cfg.Now()
	ctx := r.Context()
	rid := h.cfg.RequestID(ctx)
	res := h.serve(ctx, w, r, rid)
	if res.err != nil && res.secrets == nil {
		res.secrets, _ = h.cfg.Secrets.Load(ctx)
	}
	h.respond(w, res, rid)
	h.logDelivery(ctx, res, rid, h.cfg.Now().Sub(start))
}

func (h *Handler) serve(ctx context.Context, w http.ResponseWriter, r *http.Request, rid string) result {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return result{status: http.StatusMethodNotAllowed, outcome: "method_not_allowed", public: "method not allowed: Stripe delivers with POST"}
	}
	if err := h.Warm(ctx); err != nil {
		if errors.Is(err, dispatch.ErrInit) {
			return result{status: http.StatusServiceUnavailable, outcome: "init_failed", public: "handler initialisation failed", err: err}
		}
		return result{status: http.StatusServiceUnavailable, outcome: "secrets_unavailable", public: "secrets unavailable", err: err}
	}
	m, err := h.cfg.Secrets.Load(ctx)
	if err != nil {
		return result{status: http.StatusServiceUnavailable, outcome: "secrets_unavailable", public: "secrets unavailable", err: err}
	}
	whsecs := h.webhookSecrets(m)
	basic := m[BasicAuthSecret]
	if len(whsecs) == 0 && basic == "" {
		return result{status: http.StatusServiceUnavailable, outcome: "auth_not_configured", public: "webhook authentication is not configured",
			err: errors.New("neither STRIPE_WEBHOOK_SECRET nor BASIC_AUTH is set")}
	}
	if basic != "" && !basicAuthOK(r, basic) {
		w.Header().Set("WWW-Authenticate", `Basic realm="stripetask", charset="UTF-8"`)
		return result{status: http.StatusUnauthorized, outcome: "unauthorized", public: "unauthorized"}
	}
	body, err := readBody(w, r)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return result{status: http.StatusRequestEntityTooLarge, outcome: "too_large", public: "body exceeds 1 MiB", err: err}
		}
		return result{status: http.StatusBadRequest, outcome: "unreadable_body", public: "body could not be read", err: err}
	}
	if len(whsecs) > 0 {
		sig := r.Header.Get("Stripe-Signature")
		err := h.verify(body, sig, whsecs)
		if errors.Is(err, webhook.ErrNoValidSignature) {
			// Perhaps the signing secret was rotated since the snapshot:
			// fetch once more (the source limits how often) and retry.
			if fresh, ok := h.refresh(ctx); ok {
				m = fresh
				err = h.verify(body, sig, h.webhookSecrets(m))
			}
		}
		if err != nil {
			return result{status: http.StatusBadRequest, outcome: "bad_signature", public: signaturePublic(err), err: err}
		}
	}
	d := h.cfg.Dispatcher
	dl, err := d.Decode(body)
	if err != nil {
		res := result{status: http.StatusBadRequest, outcome: "not_event", public: "body is not a Stripe event", err: err, dl: dl}
		switch {
		case errors.Is(err, dispatch.ErrMalformed):
			res.outcome, res.public = "malformed", "body is not valid JSON"
		case errors.Is(err, dispatch.ErrAPIVersion):
			res.outcome, res.public = "api_version_mismatch", "event API version does not match the function's"
		}
		return res
	}
	if dl.Method() == "" {
		return result{status: http.StatusOK, outcome: "ignored", dl: dl}
	}
	owner := rid
	if h.cfg.Dedup != nil {
		if owner == "" {
			owner = randomOwner()
		}
		if res, claimed := h.claim(ctx, dl, owner); !claimed {
			return res
		}
	}
	base := dispatch.Env{Stripe: h.cfg.Stripe.Client(m), Secrets: m, Log: logattr.With(h.log, slog.String("request_id", rid))}
	err = d.Run(ctx, dl, base)
	if h.cfg.Dedup != nil {
		h.settle(ctx, dl, owner, err)
	}
	switch {
	case err == nil:
		return result{status: http.StatusOK, outcome: "handled", dl: dl}
	case errors.Is(err, dispatch.ErrDecodeObject):
		return result{status: http.StatusBadRequest, outcome: "undecodable_object", public: "data.object does not match the handler's type", err: err, dl: dl}
	}
	res := result{status: http.StatusInternalServerError, outcome: "handler_error", public: "handler failed", err: err, dl: dl, secrets: m}
	if pe, ok := errors.AsType[*dispatch.PanicError](err); ok {
		res.outcome, res.stack = "handler_panic", pe.Stack
	}
	return res
}

// claim claims dl's event for owner. When it does not, res is the answer.
func (h *Handler) claim(ctx context.Context, dl *dispatch.Delivery, owner string) (res result, claimed bool) {
	lease, ok := ctx.Deadline()
	if !ok {
		lease = h.cfg.Now().Add(DefaultLease)
	}
	err := h.cfg.Dedup.Claim(ctx, dl.Event.ID, dedup.Claim{Owner: owner, Kind: string(dl.Event.Type), Lease: lease})
	switch {
	case err == nil:
		return result{}, true
	case errors.Is(err, dedup.ErrCompleted):
		return result{status: http.StatusOK, outcome: "duplicate", dl: dl}, false
	case errors.Is(err, dedup.ErrInProgress):
		return result{status: http.StatusConflict, outcome: "in_progress", public: "event is being handled by another invocation; retry later", err: err, dl: dl}, false
	default:
		return result{status: http.StatusServiceUnavailable, outcome: "dedup_unavailable", public: "dedup store unavailable", err: err, dl: dl}, false
	}
}

// settle records the outcome of a claimed run: completed on success, so
// later deliveries are duplicates; released on failure, so Stripe's retry
// runs again. A failure to record is logged; the answer stays that of the
// run: answering 5xx after a success would make Stripe deliver again and,
// once the lease passed, run the method twice.
func (h *Handler) settle(ctx context.Context, dl *dispatch.Delivery, owner string, runErr error) {
	// The run may have used up the request's deadline; recording its
	// outcome still matters.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var err error
	op := "complete"
	if runErr == nil {
		err = h.cfg.Dedup.Complete(ctx, dl.Event.ID, owner)
	} else {
		op = "release"
		err = h.cfg.Dedup.Release(ctx, dl.Event.ID, owner)
	}
	if err != nil {
		h.log.Error("dedup: could not "+op+" the claim; it lapses at its lease", "event_id", dl.Event.ID, "error", err.Error())
	}
}

// settleTimeout bounds recording a run's outcome in the dedup store.
const settleTimeout = 5 * time.Second

// randomOwner names a claimant when the request has no id.
func randomOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return "local-" + hex.EncodeToString(b[:])
}

// webhookSecrets returns the signing secrets in m, parsed once per value.
func (h *Handler) webhookSecrets(m secrets.Map) []string {
	return h.secretList.get(m[WebhookSecret], func(s string) []string { return secrets.Map{WebhookSecret: s}.List(WebhookSecret) })
}

// refresh asks a refreshable source for a newer snapshot; ok is false when
// there is none (the source cannot refresh, refreshed recently with no
// change, or failed, which is logged).
func (h *Handler) refresh(ctx context.Context) (secrets.Map, bool) {
	m, fetched, err := secrets.Refresh(ctx, h.cfg.Secrets)
	if err != nil {
		h.log.Error("refetching secrets after a signature mismatch failed", "error", err.Error())
		return nil, false
	}
	return m, fetched
}

// readBody reads at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, &http.MaxBytesError{Limit: MaxBodyBytes}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	n := r.ContentLength
	if n < 0 {
		n = 4096
	}
	buf := make([]byte, 0, n+1) // +1: reaching EOF needs room for one more read
	for {
		k, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+k]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}

// basicAuthOK compares the request's Basic credentials with want
// ("user:password") in constant time.
func basicAuthOK(r *http.Request, want string) bool {
	user, pass, ok := r.BasicAuth()
	return ok && secrets.MatchAny(user+":"+pass, want)
}

// maxSignatures bounds the v1 signatures read from one header. Stripe sends
// one, or two while a secret is being rolled.
const maxSignatures = 8

// verify checks the Stripe-Signature header against body with each signing
// secret: the timestamp within the tolerance on both sides of now, then the
// HMAC computed by stripe-go's webhook.ComputeSignature against every v1
// signature. The header is parsed here, as stripe-go's parser does it,
// because the timestamp is needed for the future-side check and parsing it
// a second time inside webhook.ValidatePayload cost six allocations per
// delivery. Errors wrap stripe-go's webhook sentinels or ErrFutureTimestamp.
func (h *Handler) verify(body []byte, header string, whsecs []string) error {
	if header == "" {
		return webhook.ErrNotSigned
	}
	var (
		ts    int64
		hasTS bool
		sigs  [maxSignatures][sha256.Size]byte
		n     int
	)
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			return fmt.Errorf("%w: %q is not key=value", webhook.ErrInvalidHeader, k)
		}
		switch k {
		case "t":
			sec, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%w: bad timestamp", webhook.ErrInvalidHeader)
			}
			ts, hasTS = sec, true
		case "v1":
			// Like stripe-go, skip signatures that are not hex SHA-256.
			if n < maxSignatures && len(v) == 2*sha256.Size {
				if _, err := hex.Decode(sigs[n][:], []byte(v)); err == nil {
					n++
				}
			}
		}
	}
	if !hasTS {
		return fmt.Errorf("%w: no timestamp", webhook.ErrInvalidHeader)
	}
	if n == 0 {
		return fmt.Errorf("%w: no v1 signature", webhook.ErrNoValidSignature)
	}
	signed, now := time.Unix(ts, 0), h.cfg.Now()
	switch {
	case now.Sub(signed) > h.cfg.Tolerance:
		return fmt.Errorf("%w: signed %s ago, tolerance %s", webhook.ErrTooOld, now.Sub(signed).Round(time.Second), h.cfg.Tolerance)
	case signed.Sub(now) > h.cfg.Tolerance:
		return fmt.Errorf("%w: signed %s ahead, tolerance %s", ErrFutureTimestamp, signed.Sub(now).Round(time.Second), h.cfg.Tolerance)
	}
	for _, s := range whsecs {
		want := webhook.ComputeSignature(signed, body, s)
		for i := range n {
			if hmac.Equal(want, sigs[i][:]) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w (tried %d signing secret(s))", webhook.ErrNoValidSignature, len(whsecs))
}

func signaturePublic(err error) string {
	switch {
	case errors.Is(err, webhook.ErrNotSigned):
		return "missing Stripe-Signature header"
	case errors.Is(err, webhook.ErrInvalidHeader):
		return "malformed Stripe-Signature header"
	case errors.Is(err, webhook.ErrTooOld), errors.Is(err, ErrFutureTimestamp):
		return "signature timestamp outside the tolerance"
	default:
		return "no valid signature"
	}
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error     string `json:"error"`
	RequestID string `json:"request_id,omitempty"`
}

func (h *Handler) respond(w http.ResponseWriter, res result, rid string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.status)
	switch res.outcome {
	case "handled":
		w.Write(handledBody)
	case "ignored":
		w.Write(ignoredBody)
	case "duplicate":
		w.Write(duplicateBody)
	default:
		json.NewEncoder(w).Encode(errorBody{Error: res.public, RequestID: rid})
	}
}

// logDelivery writes the one line per delivery.
func (h *Handler) logDelivery(ctx context.Context, res result, rid string, took time.Duration) {
	level := slog.LevelInfo
	switch {
	case res.status >= 500:
		level = slog.LevelError
	case res.status >= 400:
		level = slog.LevelWarn
	}
	if !h.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs, slog.String("request_id", rid))
	if res.dl != nil {
		attrs = append(attrs,
			slog.String("event_id", res.dl.Event.ID),
			slog.String("event_type", string(res.dl.Event.Type)),
			slog.String("method", res.dl.Method()))
	}
	attrs = append(attrs,
		slog.String("outcome", res.outcome),
		slog.Int("status", res.status),
		slog.Float64("duration_ms", float64(took.Microseconds())/1000))
	if res.err != nil {
		attrs = append(attrs, slog.String("error", res.secrets.Redact(res.err.Error())))
	}
	if res.stack != nil {
		attrs = append(attrs, slog.String("stack", res.secrets.Redact(string(res.stack))))
	}
	h.log.LogAttrs(ctx, level, "delivery", attrs...)
}

// derived caches a value computed from one secret's raw string, recomputed
// only when the string changes.
type derived[T any] struct {
	cur atomic.Pointer[derivedEntry[T]]
}

type derivedEntry[T any] struct {
	raw string
	val T
}

func (d *derived[T]) get(raw string, build func(string) T) T {
	if e := d.cur.Load(); e != nil && e.raw == raw {
		return e.val
	}
	e := &derivedEntry[T]{raw: raw, val: build(raw)}
	d.cur.Store(e)
	return e.val
}

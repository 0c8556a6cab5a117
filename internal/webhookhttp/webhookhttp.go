// Package webhookhttp is the webhook's HTTP adapter: it checks what only
// an HTTP delivery has (the method, the size, Basic auth and the
// Stripe-Signature), hands the authenticated body to the event pipeline,
// and turns the pipeline's outcome into the status code Stripe acts on.
//
// The policy, in order: a method other than POST is 405; secrets that cannot
// be loaded, a failed Init, or no authentication configured is 503 (fail
// closed, never dispatch); wrong Basic credentials are 401; a body over 1 MiB
// is 413; a missing, malformed, expired or non-matching Stripe-Signature is
// 400. The pipeline's outcomes then answer: handled 200 {"status":"handled"},
// ignored 200 {"status":"ignored"}, duplicate 200 {"status":"duplicate"};
// queued (queue mode) 200 {"status":"queued"}; malformed, not_event,
// api_version_mismatch and undecodable_object 400;
// in_progress 409; handler_error, handler_panic and handler_timeout 500;
// dedup_unavailable, queue_unavailable,
// secrets_unavailable and init_failed 503. Stripe retries every non-2xx
// answer, so exactly what failed is delivered again.
//
// Responses carry no secret, key, error text from handlers or stack; those go
// to the log, which has one JSON line per delivery (see package pipeline).
package webhookhttp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/internal/function"
	"stripetask/internal/pipeline"
	"stripetask/secrets"
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

// ErrNoMatchingSecret reports a well-formed Stripe-Signature that none of
// the signing secrets produced. It is the one signature failure that may
// mean the secret was rotated, and so the only one that refetches the
// secrets before answering. Errors wrapping it wrap
// webhook.ErrNoValidSignature too.
var ErrNoMatchingSecret = errors.New("no signing secret matches")

// The outcomes of deliveries refused before the pipeline.
// (pipeline's closed set holds them, with their dispositions.)
const (
	MethodNotAllowed  = pipeline.MethodNotAllowed
	AuthNotConfigured = pipeline.AuthNotConfigured
	Unauthorized      = pipeline.Unauthorized
	TooLarge          = pipeline.TooLarge
	UnreadableBody    = pipeline.UnreadableBody
	BadSignature      = pipeline.BadSignature
)

// source is the webhook as the pipeline sees it.
var source = &pipeline.Source{Name: "webhook", Status: Status}

// Status is the status code the webhook answers an outcome with: the HTTP
// mapping of the outcome's disposition, refined by outcome. Done is 200;
// Retry is 5xx (Stripe retries for 3 days), or 409 while another run holds
// the event; Refused is 4xx.
func Status(o pipeline.Outcome) int {
	switch o.Disposition() {
	case pipeline.Done:
		return http.StatusOK
	case pipeline.Retry:
		switch o {
		case pipeline.InProgress:
			return http.StatusConflict
		case pipeline.HandlerError, pipeline.HandlerPanic, pipeline.HandlerTimeout:
			return http.StatusInternalServerError
		}
		return http.StatusServiceUnavailable
	}
	switch o {
	case MethodNotAllowed:
		return http.StatusMethodNotAllowed
	case Unauthorized:
		return http.StatusUnauthorized
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// publicMessage is the error message of the response to an outcome that
// is not a success. It never says more than the outcome does.
func publicMessage(o pipeline.Outcome, err error) string {
	switch o {
	case MethodNotAllowed:
		return "method not allowed: Stripe delivers with POST"
	case AuthNotConfigured:
		return "webhook authentication is not configured"
	case Unauthorized:
		return "unauthorized"
	case TooLarge:
		return "body exceeds 1 MiB"
	case UnreadableBody:
		return "body could not be read"
	case BadSignature:
		return signaturePublic(err)
	case pipeline.Malformed:
		return "body is not valid JSON"
	case pipeline.NotEvent:
		return "body is not a Stripe event"
	case pipeline.APIVersionMismatch:
		return "event API version does not match the function's"
	case pipeline.UndecodableObject:
		return "data.object does not match the handler's type"
	case pipeline.InProgress:
		return "event is being handled by another invocation; retry later"
	case pipeline.HandlerError, pipeline.HandlerPanic:
		return "handler failed"
	case pipeline.HandlerTimeout:
		return "handler did not finish in time"
	case pipeline.DedupUnavailable:
		return "dedup store unavailable"
	case pipeline.SecretsUnavailable:
		return "secrets unavailable"
	case pipeline.InitFailed:
		return "handler initialisation failed"
	case pipeline.QueueUnavailable:
		return "queue unavailable"
	}
	return "request failed"
}

// Config configures a Handler.
type Config struct {
	function.Deps
	// Pipeline runs the authenticated events. Required; it should share
	// Deps.Secrets.
	Pipeline *pipeline.Pipeline
	// Tolerance bounds the signature timestamp's distance from now; zero
	// means DefaultTolerance.
	Tolerance time.Duration
}

// Handler is the webhook's http.Handler. Create it with New.
type Handler struct {
	cfg     Config
	checked function.Warmup // the configuration check of Warm

	secretList derived[[]string] // STRIPE_WEBHOOK_SECRET, split
}

// New returns a Handler. Call Warm at start-up to load secrets and run the
// Handler's Init before the first delivery.
func New(cfg Config) *Handler {
	cfg.Deps = cfg.Deps.WithDefaults()
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = DefaultTolerance
	}
	return &Handler{cfg: cfg}
}

// Warm warms the pipeline (secrets, the Handler's Init) and logs an error,
// once, when no webhook authentication is configured. Every delivery calls
// it until it succeeds.
func (h *Handler) Warm(ctx context.Context) (pipeline.Outcome, error) {
	if outcome, err := h.cfg.Pipeline.Warm(ctx); err != nil {
		return outcome, err
	}
	err := h.checked.Do(ctx, func(ctx context.Context) error {
		m, err := h.cfg.Secrets.Load(ctx)
		if err != nil {
			return err
		}
		if m[WebhookSecret] == "" && m[BasicAuthSecret] == "" {
			h.cfg.Log.Error("no webhook authentication configured: set STRIPE_WEBHOOK_SECRET (and/or BASIC_AUTH); every delivery is refused with 503 until then")
		}
		if err := checkBasic(m[BasicAuthSecret]); err != nil {
			// errBadBasic: a constant text, never the value.
			h.cfg.Log.Error(err.Error() + "; every delivery is refused with 503 until then")
		}
		return nil
	})
	if err != nil {
		return pipeline.SecretsUnavailable, err
	}
	return "", nil
}

// Precomputed success bodies: the hot path allocates none.
var (
	handledBody   = []byte(`{"status":"handled"}` + "\n")
	duplicateBody = []byte(`{"status":"duplicate"}` + "\n")
	ignoredBody   = []byte(`{"status":"ignored"}` + "\n")
	queuedBody    = []byte(`{"status":"queued"}` + "\n")
	testEventBody = []byte(`{"status":"test_event_in_live_mode"}` + "\n")
)

// ServeHTTP serves one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in := pipeline.Input{Source: source, RequestID: h.cfg.RequestID(ctx), Received: h.cfg.Now()}
	// Loading and refetching secrets end in time for the function's own
	// answer; the pipeline budgets the rest itself.
	authCtx, cancel := function.Budget(ctx, in.Received)
	outcome, err := h.authenticate(authCtx, w, r, &in)
	cancel()
	if outcome != "" {
		h.cfg.Pipeline.Refuse(ctx, in, outcome, err)
		h.respond(w, outcome, err, in.RequestID)
		return
	}
	res := h.cfg.Pipeline.Handle(ctx, in)
	h.respond(w, res.Outcome, res.Err, in.RequestID)
}

// authenticate checks the request and reads its body into in. It returns
// the outcome of a refused request, or "" when in holds an authenticated
// body and the secrets it was checked with.
func (h *Handler) authenticate(ctx context.Context, w http.ResponseWriter, r *http.Request, in *pipeline.Input) (pipeline.Outcome, error) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return MethodNotAllowed, nil
	}
	if outcome, err := h.Warm(ctx); err != nil {
		return outcome, err
	}
	m, err := h.cfg.Secrets.Load(ctx)
	if err != nil {
		return pipeline.SecretsUnavailable, err
	}
	in.Secrets = m
	whsecs := h.webhookSecrets(m)
	basic := m[BasicAuthSecret]
	if len(whsecs) == 0 && basic == "" {
		return AuthNotConfigured, errors.New("neither STRIPE_WEBHOOK_SECRET nor BASIC_AUTH is set")
	}
	if err := checkBasic(basic); err != nil {
		// A guard that was meant to be there is not: fail closed.
		return AuthNotConfigured, err
	}
	if basic != "" && !basicAuthOK(r, basic) {
		w.Header().Set("WWW-Authenticate", `Basic realm="stripetask", charset="UTF-8"`)
		return Unauthorized, nil
	}
	body, err := readBody(w, r)
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return TooLarge, err
		}
		return UnreadableBody, err
	}
	if len(whsecs) > 0 {
		sig := r.Header.Get("Stripe-Signature")
		err := h.verify(body, sig, whsecs)
		if errors.Is(err, ErrNoMatchingSecret) {
			// Perhaps the signing secret was rotated since the snapshot:
			// fetch once more (the source limits how often) and retry.
			if fresh, ok := h.refresh(ctx); ok {
				in.Secrets = fresh
				err = h.verify(body, sig, h.webhookSecrets(fresh))
			}
		}
		if err != nil {
			return BadSignature, err
		}
	}
	in.Body = body
	return "", nil
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
		// The secrets source's own error: it never contains a secret value
		// (secrets.Source).
		h.cfg.Log.Error("refetching secrets after a signature mismatch failed", "error", err.Error())
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

// errBadBasic reports a BASIC_AUTH that is not a credential.
var errBadBasic = errors.New("BASIC_AUTH is set but is not user:password with both parts non-empty")

// checkBasic checks a BASIC_AUTH value: empty (not used), or user:password
// with neither part empty. ":" or "user:" would let anyone with an empty
// password in.
func checkBasic(v string) error {
	if v == "" {
		return nil
	}
	user, pass, ok := strings.Cut(v, ":")
	if !ok || user == "" || pass == "" {
		return errBadBasic
	}
	return nil
}

// basicAuthOK compares the request's Basic credentials with want
// ("user:password") in constant time.
func basicAuthOK(r *http.Request, want string) bool {
	user, pass, ok := r.BasicAuth()
	return ok && secrets.MatchAny(user+":"+pass, want)
}

// inlineSignatures is how many v1 signatures a header holds without an
// allocation. Stripe sends one, or two while a secret is being rolled; like
// stripe-go, verify accepts any number (the header's size is bounded by the
// request's).
const inlineSignatures = 4

// maxQuoted bounds how much of an unauthenticated header an error quotes.
const maxQuoted = 24

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
		ts     int64
		hasTS  bool
		inline [inlineSignatures][sha256.Size]byte
		sigs   = inline[:0]
	)
	for pair := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || strings.Contains(v, "=") {
			return fmt.Errorf("%w: %s is not key=value", webhook.ErrInvalidHeader, quoteStart(pair))
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
			var sig [sha256.Size]byte
			if len(v) == 2*sha256.Size {
				if _, err := hex.Decode(sig[:], []byte(v)); err == nil {
					sigs = append(sigs, sig)
				}
			}
		}
	}
	if !hasTS {
		return fmt.Errorf("%w: no timestamp", webhook.ErrInvalidHeader)
	}
	if len(sigs) == 0 {
		// No signature at all: no secret could match, so no refetch.
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
		for i := range sigs {
			if hmac.Equal(want, sigs[i][:]) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: %w (tried %d signing secret(s))", webhook.ErrNoValidSignature, ErrNoMatchingSecret, len(whsecs))
}

// quoteStart quotes the start of s, at most maxQuoted bytes of it, for an
// error about an unauthenticated header: a log line never carries a whole
// header an attacker wrote.
func quoteStart(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxQuoted]) + fmt.Sprintf("... (%d bytes)", len(s))
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

func (h *Handler) respond(w http.ResponseWriter, outcome pipeline.Outcome, err error, rid string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(Status(outcome))
	switch outcome {
	case pipeline.Handled:
		w.Write(handledBody)
	case pipeline.Ignored:
		w.Write(ignoredBody)
	case pipeline.Duplicate:
		w.Write(duplicateBody)
	case pipeline.TestEventInLiveMode:
		w.Write(testEventBody)
	case pipeline.Queued:
		w.Write(queuedBody)
	default:
		json.NewEncoder(w).Encode(errorBody{Error: publicMessage(outcome, err), RequestID: rid})
	}
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

// Package pipeline runs one authenticated Stripe event through the steps
// every source of events shares, whatever carried the event there (a
// webhook delivery, and later a queue message, an EventBridge event, a
// replay): decode, claim, run, settle, log.
//
//  1. Warm: the secrets are loaded and the Handler's Init has run
//     (secrets_unavailable, init_failed).
//  2. Decode: the body becomes a *stripe.Event, routed to its method
//     (malformed, not_event, api_version_mismatch); an event with no method
//     and no Default is ignored (ignored).
//  3. Claim: with a dedup store, the event's id is claimed for this run
//     (duplicate, in_progress, dedup_unavailable).
//  4. Run: the method is called on a fresh copy of the Handler
//     (handled, handler_error, handler_panic, undecodable_object).
//  5. Settle: the claim is marked completed after a success, or released
//     after a failure so that a retry can run.
//  6. Log: one JSON line, "msg":"delivery", with the outcome.
//
// The source authenticates the event before handing it over and turns the
// Result into its own answer (an HTTP status, a failed batch item); the
// pipeline knows nothing of HTTP or of any other transport.
package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/function"
	"stripetask/internal/stripeclient"
	"stripetask/secrets"
)

// Outcome says what became of one event. Its values are the words of the
// "outcome" attribute of the log line. Sources add their own outcomes for
// events they refuse before the pipeline (see Pipeline.Refuse).
type Outcome string

// The outcomes of Handle.
const (
	// Handled: the method ran and returned nil.
	Handled Outcome = "handled"
	// Ignored: no method and no Default; nothing ran.
	Ignored Outcome = "ignored"
	// Duplicate: a run of the event already completed; nothing ran.
	Duplicate Outcome = "duplicate"
	// InProgress: another run holds a live claim on the event; nothing ran.
	InProgress Outcome = "in_progress"
	// HandlerError: the method returned an error.
	HandlerError Outcome = "handler_error"
	// HandlerPanic: the method panicked; the panic was recovered.
	HandlerPanic Outcome = "handler_panic"
	// UndecodableObject: data.object does not decode into the method's
	// type; nothing ran.
	UndecodableObject Outcome = "undecodable_object"
	// NotEvent: the body is JSON but not a Stripe event.
	NotEvent Outcome = "not_event"
	// Malformed: the body is not valid JSON.
	Malformed Outcome = "malformed"
	// APIVersionMismatch: STRICT_API_VERSION refused the event's
	// api_version.
	APIVersionMismatch Outcome = "api_version_mismatch"
	// DedupUnavailable: the dedup store could not answer; nothing ran.
	DedupUnavailable Outcome = "dedup_unavailable"
	// SecretsUnavailable: the secrets could not be loaded; nothing ran.
	SecretsUnavailable Outcome = "secrets_unavailable"
	// InitFailed: the Handler's Init failed; nothing ran.
	InitFailed Outcome = "init_failed"
)

// Level is the level of the log line of an event with this outcome when
// its source gives no status: info for the outcomes that acknowledge the
// event, error for those that leave it for a retry because something is
// wrong here, warning for the rest.
func (o Outcome) Level() slog.Level {
	switch o {
	case Handled, Ignored, Duplicate:
		return slog.LevelInfo
	case HandlerError, HandlerPanic, DedupUnavailable, SecretsUnavailable, InitFailed:
		return slog.LevelError
	}
	return slog.LevelWarn
}

// Source describes where events come from. Each adapter declares one and
// passes it with every Input.
type Source struct {
	// Name names the source in the log line ("source"), e.g. "webhook".
	Name string
	// Status, if set, gives the source's answer for an outcome, an HTTP
	// status for the webhook. It is logged as "status" and sets the line's
	// level (see function.Level); without it the level is Outcome.Level.
	Status func(Outcome) int
}

// Input is one event, as its source hands it over.
type Input struct {
	// Source says where the event comes from. Required.
	Source *Source
	// Body is the event as JSON, already authenticated by the source. The
	// pipeline keeps references into it: do not modify it afterwards.
	Body []byte
	// Event is an event already decoded by stripe-go (one read from
	// Stripe's Events API); it is used when Body is nil.
	Event *stripe.Event
	// RequestID identifies this delivery at its source (API Gateway's
	// request id). It is logged, and carried by the Handler's h.Log.
	RequestID string
	// Secrets is the snapshot the source authenticated the event with; nil
	// loads the current one.
	Secrets secrets.Map
	// Received is when the source received the event, the start of the
	// logged duration; zero means when Handle is called.
	Received time.Time
}

// Result is what became of one event.
type Result struct {
	Outcome Outcome
	// Event is the decoded event, or nil if the body was not one.
	Event *stripe.Event
	// Method is the method that ran, or would have: the event's own,
	// "Default", or "" for an ignored event.
	Method string
	// Err says what went wrong, for logs only: it may quote a handler's
	// error, which may quote anything.
	Err error
}

// Config configures a Pipeline.
type Config struct {
	function.Deps
	// Dispatcher routes events to the Handler's methods. Required.
	Dispatcher *dispatch.Dispatcher
	// Dedup, when set, makes each event's method run to success at most
	// once: see Handle. Nil runs every event that has a method.
	Dedup dedup.Store
}

// DefaultLease is how long a claim on an event lasts when the context has
// no deadline (the local modes); in Lambda the claim ends at the
// invocation's deadline.
const DefaultLease = 30 * time.Second

// settleTimeout bounds recording a run's outcome in the dedup store.
const settleTimeout = 5 * time.Second

// logMsg is the message of the one line per event.
const logMsg = "delivery"

// Pipeline runs events through the Handler. It is safe for concurrent use.
type Pipeline struct {
	cfg  Config
	log  *slog.Logger
	warm function.Warmup
}

// New returns a Pipeline. Call Warm at start-up to load the secrets and run
// the Handler's Init before the first event.
func New(cfg Config) *Pipeline {
	cfg.Deps = cfg.Deps.WithDefaults()
	return &Pipeline{cfg: cfg, log: cfg.Log}
}

// Warm loads the secrets and runs the Handler's Init, until that has
// succeeded once; Handle calls it too, so that a cold start that could not
// reach its secrets recovers with a later event. On failure it returns the
// outcome an event gets meanwhile, SecretsUnavailable or InitFailed, and
// the error.
func (p *Pipeline) Warm(ctx context.Context) (Outcome, error) {
	err := p.warm.Do(ctx, p.init)
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, dispatch.ErrInit):
		return InitFailed, err
	}
	return SecretsUnavailable, err
}

func (p *Pipeline) init(ctx context.Context) error {
	m, err := p.cfg.Secrets.Load(ctx)
	if err != nil {
		return err
	}
	if m[stripeclient.KeySecret] == "" {
		p.log.Warn("STRIPE_KEY is not set: calls through h.Stripe will fail with an authentication error")
	}
	env := dispatch.Env{Stripe: p.cfg.Stripe.Client(m), Secrets: m, Log: p.log}
	return p.cfg.Dispatcher.Init(ctx, env)
}

// Handle runs one event through the pipeline (see the package
// documentation), writes its log line and returns what became of it.
//
// With a dedup store, an event with a method is first claimed by its id: an
// event already handled is a Duplicate and does not run; one claimed by
// another live run is InProgress; a store that cannot answer is
// DedupUnavailable (never run unrecorded). The claim lasts until the
// context's deadline (DefaultLease without one). A failed run releases the
// claim so a retry runs; a successful one marks the event completed. If
// that cannot be recorded, the failure is logged and the outcome stays
// Handled: a retry would run the method a second time once the lease
// passed. Ignored events are not recorded.
func (p *Pipeline) Handle(ctx context.Context, in Input) Result {
	start := in.Received
	if start.IsZero() {
		start = p.cfg.Now()
	}
	res, stack := p.handle(ctx, &in)
	p.writeLine(ctx, &in, &res, stack, start)
	return res
}

func (p *Pipeline) handle(ctx context.Context, in *Input) (Result, []byte) {
	if outcome, err := p.Warm(ctx); err != nil {
		return Result{Outcome: outcome, Err: err}, nil
	}
	if in.Secrets == nil {
		m, err := p.cfg.Secrets.Load(ctx)
		if err != nil {
			return Result{Outcome: SecretsUnavailable, Err: err}, nil
		}
		in.Secrets = m
	}
	d := p.cfg.Dispatcher
	var (
		dl  *dispatch.Delivery
		err error
	)
	if in.Body != nil || in.Event == nil {
		dl, err = d.Decode(in.Body)
	} else {
		dl, err = d.Route(in.Event)
	}
	if err != nil {
		res := Result{Outcome: NotEvent, Err: err}
		switch {
		case errors.Is(err, dispatch.ErrMalformed):
			res.Outcome = Malformed
		case errors.Is(err, dispatch.ErrAPIVersion):
			res.Outcome = APIVersionMismatch
		}
		if dl != nil {
			res.Event, res.Method = dl.Event, dl.Method()
		}
		return res, nil
	}
	res := Result{Event: dl.Event, Method: dl.Method()}
	if res.Method == "" {
		res.Outcome = Ignored
		return res, nil
	}
	owner := in.RequestID
	if p.cfg.Dedup != nil {
		if owner == "" {
			owner = randomOwner()
		}
		if outcome, err := p.claim(ctx, dl, owner); err != nil || outcome != "" {
			res.Outcome, res.Err = outcome, err
			return res, nil
		}
	}
	base := dispatch.Env{Stripe: p.cfg.Stripe.Client(in.Secrets), Secrets: in.Secrets, Log: p.log}
	err = d.Run(ctx, dl, base, slog.String("request_id", in.RequestID))
	if p.cfg.Dedup != nil {
		p.settle(ctx, dl, owner, err)
	}
	res.Err = err
	switch {
	case err == nil:
		res.Outcome = Handled
	case errors.Is(err, dispatch.ErrDecodeObject):
		res.Outcome = UndecodableObject
	default:
		res.Outcome = HandlerError
		if pe, ok := errors.AsType[*dispatch.PanicError](err); ok {
			res.Outcome = HandlerPanic
			return res, pe.Stack
		}
	}
	return res, nil
}

// claim claims dl's event for owner. It returns "" and nil when the claim
// is held; otherwise the outcome, with an error for the log when one
// applies.
func (p *Pipeline) claim(ctx context.Context, dl *dispatch.Delivery, owner string) (Outcome, error) {
	lease, ok := ctx.Deadline()
	if !ok {
		lease = p.cfg.Now().Add(DefaultLease)
	}
	err := p.cfg.Dedup.Claim(ctx, dl.Event.ID, dedup.Claim{Owner: owner, Kind: string(dl.Event.Type), Lease: lease})
	switch {
	case err == nil:
		return "", nil
	case errors.Is(err, dedup.ErrCompleted):
		return Duplicate, nil
	case errors.Is(err, dedup.ErrInProgress):
		return InProgress, err
	}
	return DedupUnavailable, err
}

// settle records the outcome of a claimed run: completed on success, so
// later deliveries are duplicates; released on failure, so a retry runs
// again. A failure to record is logged.
func (p *Pipeline) settle(ctx context.Context, dl *dispatch.Delivery, owner string, runErr error) {
	// The run may have used up the context's deadline; recording its
	// outcome still matters.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var err error
	op := "complete"
	if runErr == nil {
		err = p.cfg.Dedup.Complete(ctx, dl.Event.ID, owner)
	} else {
		op = "release"
		err = p.cfg.Dedup.Release(ctx, dl.Event.ID, owner)
	}
	if err != nil {
		p.log.Error("dedup: could not "+op+" the claim; it lapses at its lease", "event_id", dl.Event.ID, "error", err.Error())
	}
}

// randomOwner names a claimant when the source gives no request id.
func randomOwner() string {
	var b [8]byte
	rand.Read(b[:])
	return "local-" + hex.EncodeToString(b[:])
}

// Refuse writes the log line of an event its source refused before the
// pipeline (a bad signature, wrong credentials, a body too large), with
// the source's own outcome, so that every event has its one line.
func (p *Pipeline) Refuse(ctx context.Context, in Input, outcome Outcome, err error) {
	start := in.Received
	if start.IsZero() {
		start = p.cfg.Now()
	}
	res := Result{Outcome: outcome, Err: err}
	p.writeLine(ctx, &in, &res, nil, start)
}

// writeLine writes the one line of an event.
func (p *Pipeline) writeLine(ctx context.Context, in *Input, res *Result, stack []byte, start time.Time) {
	line := function.Line{
		Msg:       logMsg,
		Level:     res.Outcome.Level(),
		RequestID: in.RequestID,
		Err:       res.Err,
		Stack:     stack,
		Secrets:   in.Secrets,
	}
	if s := in.Source; s != nil && s.Status != nil {
		line.Status = s.Status(res.Outcome)
		line.Level = function.Level(line.Status)
	}
	if !p.log.Enabled(ctx, line.Level) {
		return
	}
	if res.Err != nil && line.Secrets == nil {
		line.Secrets, _ = p.cfg.Secrets.Load(ctx)
	}
	var buf [5]slog.Attr
	attrs := buf[:0]
	if in.Source != nil {
		attrs = append(attrs, slog.String("source", in.Source.Name))
	}
	if res.Event != nil {
		attrs = append(attrs,
			slog.String("event_id", res.Event.ID),
			slog.String("event_type", string(res.Event.Type)),
			slog.String("method", res.Method))
	}
	line.Attrs = append(attrs, slog.String("outcome", string(res.Outcome)))
	line.Took = p.cfg.Now().Sub(start)
	line.Write(ctx, p.log)
}

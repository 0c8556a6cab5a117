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
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/function"
	"stripetask/internal/metrics"
	"stripetask/internal/stripeclient"
	"stripetask/secrets"
)

// Source describes where events come from. Each adapter declares one and
// passes it with every Input.
type Source struct {
	// Name names the source in the log line ("source"), e.g. "webhook".
	Name string
	// Status, if set, gives the source's answer for an outcome, an HTTP
	// status for the webhook. It is logged as "status" and sets the line's
	// level (see function.Level).
	Status func(Outcome) int
	// Level, if set (and Status is not), gives the level of an outcome's
	// line; without either, the level is Outcome.Level.
	Level func(Outcome) slog.Level
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
	// Force runs the event even if a run of it already completed (an
	// operator's replay): with a dedup store the claim takes a completed
	// id over, and the line says "forced":true. A live claim still makes
	// it InProgress.
	Force bool
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
	// HandlerDuration is how long the method ran (until it was abandoned,
	// for HandlerTimeout); zero when it did not run.
	HandlerDuration time.Duration
}

// Config configures a Pipeline.
type Config struct {
	function.Deps
	// Dispatcher routes events to the Handler's methods. Required.
	Dispatcher *dispatch.Dispatcher
	// Dedup, when set, makes each event's method run to success at most
	// once: see Handle. Nil runs every event that has a method.
	Dedup dedup.Store
	// Queue, when set, takes every event that has a method, to run
	// elsewhere (queue mode): Handle sends the body and answers Queued
	// rather than running it. An event the queue cannot take (too large,
	// or characters SQS refuses) runs here instead, with a warning. Events given decoded (Input.Event)
	// always run here.
	Queue Queue
	// AcceptTestEvents runs test-mode events even when STRIPE_KEY is a
	// live key (ACCEPT_TEST_EVENTS=true); by default they are answered
	// TestEventInLiveMode and not run.
	AcceptTestEvents bool
	// Function names the function in the metrics of the log line (the
	// dimension Function, e.g. "webhook"); empty: the line carries no
	// metrics.
	Function string
	// LeaseTerm is how long a claim outlives the last sign of life of its
	// run: the claim is extended every third of it while the method runs,
	// so it lapses only LeaseTerm after its run died. Zero means
	// DefaultLeaseTerm.
	LeaseTerm time.Duration
}

// Queue takes events to run later, elsewhere: an SQS FIFO queue
// (*eventqueue.Queue).
type Queue interface {
	// Fits reports whether body can be sent.
	Fits(body []byte) bool
	// Send sends body in the message group group (the events of one group
	// run one at a time, in order), deduplicated by dedupID, and returns
	// the message's id once the queue has it.
	Send(ctx context.Context, body []byte, group, dedupID string) (string, error)
}

// DefaultLeaseTerm is the default Config.LeaseTerm.
const DefaultLeaseTerm = 30 * time.Second

// settleTimeout bounds recording a run's outcome in the dedup store when
// the context has no deadline.
const settleTimeout = 5 * time.Second

// ErrLeaseLost is the cause of the end of a method's context when its claim
// could not be extended before its lease ran out, or was taken over: the
// run must stop, since another may start.
var ErrLeaseLost = errors.New("dedup: the claim's lease ended: the run must stop")

// errAbandoned reports a method that did not return by its deadline.
var errAbandoned = errors.New("the method did not return by its deadline although its context ended; answered without it")

// logMsg is the message of the one line per event.
const logMsg = "delivery"

// The metrics of the line of every event, refused ones included (see
// README, Operating): Events counts the events by function and outcome;
// HandlerDuration times the methods that ran; Alerts counts, by function
// alone, the events whose outcome alerts (Outcome.Alerts), which the
// template's failure alarm watches: the table decides what it counts.
var (
	eventMetrics         = metrics.NewSchema([]string{"Function", "Outcome"}, metrics.Count("Events"))
	eventMetricsDuration = metrics.NewSchema([]string{"Function", "Outcome"}, metrics.Count("Events"), metrics.Milliseconds("HandlerDuration"))
	alertMetrics         = eventMetrics.With([]string{"Function"}, metrics.Count("Alerts"))
	alertMetricsDuration = eventMetricsDuration.With([]string{"Function"}, metrics.Count("Alerts"))
)

// Pipeline runs events through the Handler. It is safe for concurrent use.
type Pipeline struct {
	cfg    Config
	log    *slog.Logger
	warm   function.Warmup
	marks  dedup.Marks         // the dedup store's, when it keeps marks
	newest dispatch.NewestFunc // Env.Stale's source, from marks
	// abandoned tracks the runs answered without their method.
	abandoned abandoned
}

// objectMark is the prefix of the mark that holds, per data.object id, the
// creation time of the newest event handled about it (Env.Stale).
const objectMark = "object#"

// New returns a Pipeline. Call Warm at start-up to load the secrets and run
// the Handler's Init before the first event.
func New(cfg Config) *Pipeline {
	cfg.Deps = cfg.Deps.WithDefaults()
	if cfg.LeaseTerm <= 0 {
		cfg.LeaseTerm = DefaultLeaseTerm
	}
	p := &Pipeline{cfg: cfg, log: cfg.Log}
	if m, ok := cfg.Dedup.(dedup.Marks); ok {
		p.marks = m
		p.newest = func(ctx context.Context, objectID string) (int64, bool, error) {
			return m.Mark(ctx, objectMark+objectID)
		}
	}
	return p
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
	case errors.Is(err, function.ErrWarmupBusy):
		// Out of time: on the secrets if none are held yet, else on the
		// Handler's Init.
		if _, held := secrets.Cached(p.cfg.Secrets); held {
			return InitFailed, err
		}
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
// With a dedup store, an event with a method is first claimed by its id,
// for this run alone (the owner is unique to the run, never just the
// request id, which a replayed request repeats): an event already handled
// is a Duplicate and does not run; one claimed by another live run is
// InProgress; a store that cannot answer is DedupUnavailable (never run
// unrecorded). The claim's lease is extended while the method runs, so it
// lapses only when the run is dead; if it cannot be extended in time, the
// method's context ends (cause ErrLeaseLost). A failed run releases the
// claim so a retry runs; a successful one marks the event completed. If
// that cannot be recorded, the failure is logged and the outcome stays
// Handled: a retry would run the method a second time once the lease
// passed. Ignored events are not recorded.
//
// With a context deadline (an invocation's), the time is budgeted so that
// the answer is always the pipeline's own: the method's context ends
// function.Tail before the deadline, which leaves time to settle the claim
// and answer. A method that does not return soon after its context ended
// is abandoned: the outcome is HandlerTimeout, and its claim stays held
// until it returns.
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
	b := p.budget(ctx)
	workCtx, cancel := b.work(ctx)
	defer cancel()
	if outcome, err := p.Warm(workCtx); err != nil {
		return Result{Outcome: outcome, Err: err}, nil
	}
	if in.Secrets == nil {
		m, err := p.cfg.Secrets.Load(workCtx)
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
	if !dl.Event.Livemode && !p.cfg.AcceptTestEvents && liveKey(in.Secrets[stripeclient.KeySecret]) {
		res.Outcome = TestEventInLiveMode
		return res, nil
	}
	if q := p.cfg.Queue; q != nil && in.Body != nil {
		if q.Fits(in.Body) {
			return p.enqueue(workCtx, q, dl, in, res), nil
		}
		p.log.Warn("event cannot be sent to the queue (over its size limit, or characters SQS refuses): running it here, synchronously", "event_id", dl.Event.ID, "bytes", len(in.Body))
	}
	if p.cfg.Dedup == nil {
		began := p.cfg.Now()
		err = p.run(ctx, dl, in, b, nil)
		res.HandlerDuration = p.cfg.Now().Sub(began)
		return p.finish(res, err)
	}
	owner := newOwner(in.RequestID)
	lease := p.cfg.Now().Add(p.cfg.LeaseTerm)
	outcome, err := p.claim(workCtx, dl, owner, lease, in.Force)
	if err != nil || outcome != "" {
		res.Outcome, res.Err = outcome, err
		return res, nil
	}
	c := &claimed{p: p, id: dl.Event.ID, owner: owner, lease: lease, object: dl.ObjectID(), created: dl.Event.Created}
	began := p.cfg.Now()
	err = p.run(ctx, dl, in, b, c)
	res.HandlerDuration = p.cfg.Now().Sub(began)
	if !errors.Is(err, errAbandoned) {
		c.settle(ctx, b, err)
	}
	return p.finish(res, err)
}

// enqueue sends the event to the queue, grouped by its data.object (the
// event itself when it has none), deduplicated by its id.
func (p *Pipeline) enqueue(ctx context.Context, q Queue, dl *dispatch.Delivery, in *Input, res Result) Result {
	group := dl.ObjectID()
	if group == "" {
		group = dl.Event.ID
	}
	if _, err := q.Send(ctx, in.Body, group, dl.Event.ID); err != nil {
		res.Outcome, res.Err = QueueUnavailable, err
		return res
	}
	res.Outcome = Queued
	return res
}

// liveKey reports whether key is a live secret or restricted key.
func liveKey(key string) bool {
	return strings.HasPrefix(key, "sk_live_") || strings.HasPrefix(key, "rk_live_")
}

// finish sets res's outcome from the run's error.
func (p *Pipeline) finish(res Result, err error) (Result, []byte) {
	res.Err = err
	switch {
	case err == nil:
		res.Outcome = Handled
	case errors.Is(err, errAbandoned):
		res.Outcome = HandlerTimeout
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

// budget divides the time of an invocation with a deadline: the method's
// context ends at run; a method still running at abandon is left to
// finish alone; the dedup store is written to until settle; what is left
// answers. All are zero without a deadline.
type budget struct {
	run, abandon, settle time.Time
}

func (p *Pipeline) budget(ctx context.Context) budget {
	d, ok := ctx.Deadline()
	if !ok {
		return budget{}
	}
	tail := function.Tail(d.Sub(p.cfg.Now()))
	return budget{run: d.Add(-tail), abandon: d.Add(-tail * 5 / 6), settle: d.Add(-tail / 6)}
}

// work returns ctx ending when the method's time does.
func (b budget) work(ctx context.Context) (context.Context, context.CancelFunc) {
	if b.run.IsZero() {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, b.run)
}

// run calls the method with its context and, with a claim, keeps the claim
// alive while it runs. With a deadline, a method still running at
// b.abandon is left running and run returns errAbandoned; the claim is
// then settled when the method returns.
func (p *Pipeline) run(ctx context.Context, dl *dispatch.Delivery, in *Input, b budget, c *claimed) error {
	// For a connected account's event (Connect), h.Stripe acts on that
	// account unless a call names its own.
	base := dispatch.Env{Stripe: p.cfg.Stripe.ClientFor(in.Secrets, dl.Event.Account), Secrets: in.Secrets, Log: p.log}
	if p.newest != nil {
		base = dispatch.WithNewest(base, p.newest)
	}
	rid := slog.String("request_id", in.RequestID)
	if b.run.IsZero() && c == nil {
		return p.cfg.Dispatcher.Run(ctx, dl, base, rid) // the common local case: nothing to watch
	}
	runCtx, cancelRun := context.WithCancelCause(ctx)
	var stopRun context.CancelFunc = func() {}
	if !b.run.IsZero() {
		runCtx, stopRun = context.WithDeadline(runCtx, b.run)
	}
	if c != nil {
		c.keepAlive(runCtx, cancelRun)
	}
	// ended releases what watches the run, once the method has returned.
	ended := func() {
		c.stopKeepingAlive()
		stopRun()
		cancelRun(nil)
	}
	if b.abandon.IsZero() { // no deadline: wait as long as the claim lives
		err := p.cfg.Dispatcher.Run(runCtx, dl, base, rid)
		ended()
		return err
	}
	done := make(chan error, 1)
	go func() { done <- p.cfg.Dispatcher.Run(runCtx, dl, base, rid) }()
	abandon := time.NewTimer(b.abandon.Sub(p.cfg.Now()))
	defer abandon.Stop()
	select {
	case err := <-done:
		ended()
		return err
	case <-abandon.C:
	}
	// Answer without the method; it keeps its claim until it returns. In
	// AWS Lambda the environment then ends right after the answer (see
	// Abandoned); elsewhere (serve, tests) the run goes on and settles.
	p.abandoned.begin()
	go func() {
		err := <-done
		p.abandoned.returned()
		defer p.abandoned.settled()
		ended()
		if c != nil {
			c.settle(context.WithoutCancel(ctx), budget{}, err)
		}
		p.log.Warn("an abandoned run returned", "event_id", dl.Event.ID, "method", dl.Method(), "request_id", in.RequestID, "ok", err == nil)
	}()
	return errAbandoned
}

// claim claims dl's event for owner until lease. It returns "" and nil when the claim
// is held; otherwise the outcome, with an error for the log when one
// applies.
func (p *Pipeline) claim(ctx context.Context, dl *dispatch.Delivery, owner string, lease time.Time, force bool) (Outcome, error) {
	err := p.cfg.Dedup.Claim(ctx, dl.Event.ID, dedup.Claim{Owner: owner, Kind: string(dl.Event.Type), Lease: lease, Force: force})
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

// claimed is a claim held by one run.
type claimed struct {
	p         *Pipeline
	id, owner string
	lease     time.Time     // when the claim lapses unless extended
	object    string        // data.object's id, for the object's mark
	created   int64         // the event's creation time
	stop      chan struct{} // closed to stop keepAlive
	stopped   chan struct{} // closed when keepAlive has stopped
}

// keepAlive extends the claim every third of the lease term until
// stopKeepingAlive. If the lease is about to end without an extension (the
// store cannot be reached) or the claim was taken over, it ends the run's
// context with ErrLeaseLost and stops.
func (c *claimed) keepAlive(runCtx context.Context, cancel context.CancelCauseFunc) {
	c.stop, c.stopped = make(chan struct{}), make(chan struct{})
	term := c.p.cfg.LeaseTerm
	now := c.p.cfg.Now
	go func() {
		defer close(c.stopped)
		leaseEnd := c.lease
		tick := time.NewTicker(term / 3)
		defer tick.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-tick.C:
			}
			next := now().Add(term)
			ctx, cancelExtend := context.WithTimeout(context.WithoutCancel(runCtx), term/3)
			err := c.p.cfg.Dedup.Extend(ctx, c.id, c.owner, next)
			cancelExtend()
			switch {
			case err == nil:
				leaseEnd = next
				continue
			case errors.Is(err, dedup.ErrNotOwner):
				c.p.log.Error("dedup: the claim was lost while its method ran; ending the method's context", "event_id", c.id, "error", c.p.redact(err))
				cancel(ErrLeaseLost)
				return
			}
			c.p.log.Error("dedup: could not extend the claim", "event_id", c.id, "lease_ends_in_ms", leaseEnd.Sub(now()).Milliseconds(), "error", c.p.redact(err))
			// Another attempt comes at the next tick; if that one could
			// not succeed with a margin before the lease ends, stop the
			// run now, while the claim is still surely ours.
			if !now().Add(term/3 + term/6).Before(leaseEnd) {
				cancel(ErrLeaseLost)
				return
			}
		}
	}()
}

// stopKeepingAlive stops keepAlive and waits for it, so that no extension
// follows the claim's completion or release.
// It does nothing on a nil claim.
func (c *claimed) stopKeepingAlive() {
	if c == nil || c.stop == nil {
		return
	}
	close(c.stop)
	<-c.stopped
	c.stop = nil
}

// settle records the outcome of a claimed run: completed on success, so
// later deliveries are duplicates; released on failure, so a retry runs
// again. It is written until b.settle (settleTimeout from now without a
// deadline), even if the context has ended. A failure to record is logged.
func (c *claimed) settle(ctx context.Context, b budget, runErr error) {
	ctx = context.WithoutCancel(ctx)
	var cancel context.CancelFunc
	if b.settle.IsZero() {
		ctx, cancel = context.WithTimeout(ctx, settleTimeout)
	} else {
		ctx, cancel = context.WithDeadline(ctx, b.settle)
	}
	defer cancel()
	var err error
	op := "complete"
	if runErr == nil {
		err = c.p.cfg.Dedup.Complete(ctx, c.id, c.owner)
		if c.p.marks != nil && c.object != "" {
			// The newest event handled about this object, for Env.Stale.
			if err := c.p.marks.Raise(ctx, objectMark+c.object, c.created); err != nil {
				c.p.log.Error("dedup: could not record the object's newest handled event; Stale may miss it", "event_id", c.id, "object_id", c.object, "error", c.p.redact(err))
			}
		}
	} else {
		op = "release"
		err = c.p.cfg.Dedup.Release(ctx, c.id, c.owner)
	}
	if err != nil {
		c.p.log.Error("dedup: could not "+op+" the claim; it lapses at its lease", "event_id", c.id, "error", c.p.redact(err))
	}
}

// newOwner names one run: the request id, for whoever reads the store, and
// random bytes, since a request id repeats when a request is replayed.
func newOwner(requestID string) string {
	var b [8]byte
	rand.Read(b[:])
	if requestID == "" {
		requestID = "local"
	}
	return requestID + "/" + hex.EncodeToString(b[:])
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

// redactWait bounds the Load of a source that cannot say what it holds
// (not a secrets.Cacher), for the redaction of a line.
const redactWait = 250 * time.Millisecond

// heldSecrets returns the secrets to redact a line with: the snapshot the
// source holds, never a fetch (secrets.Cached). The line may be about the
// secrets' backend being down, and its context may have no deadline; what
// is held is every value that can have reached the error's text. A source
// that is no secrets.Cacher is asked to Load within redactWait.
func (p *Pipeline) heldSecrets(ctx context.Context) secrets.Map {
	if m, ok := secrets.Cached(p.cfg.Secrets); ok {
		return m
	}
	if _, ok := p.cfg.Secrets.(secrets.Cacher); ok {
		return nil // holds nothing yet: no value can have reached the text
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redactWait)
	defer cancel()
	m, _ := p.cfg.Secrets.Load(ctx)
	return m
}

// redact returns err's text with every secret value the source holds
// replaced by its name, for the lines other than an event's own (AWS's
// errors quote no secret, but every line goes through the same redaction).
func (p *Pipeline) redact(err error) string {
	m, _ := secrets.Cached(p.cfg.Secrets)
	return m.Redact(err.Error())
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
	} else if s != nil && s.Level != nil {
		line.Level = s.Level(res.Outcome)
	}
	if !p.log.Enabled(ctx, line.Level) {
		return
	}
	if res.Err != nil && line.Secrets == nil {
		line.Secrets = p.heldSecrets(ctx)
	}
	var buf [12]slog.Attr
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
	attrs = append(attrs, slog.String("outcome", string(res.Outcome)))
	if in.Force {
		attrs = append(attrs, slog.Bool("forced", true))
	}
	if p.cfg.Function != "" {
		dims := [2]string{p.cfg.Function, string(res.Outcome)}
		alerts := res.Outcome.Alerts()
		if res.HandlerDuration > 0 {
			ms := float64(res.HandlerDuration.Microseconds()) / 1000
			if alerts {
				attrs = alertMetricsDuration.Append(attrs, p.cfg.Now(), dims[:], 1, ms, 1)
			} else {
				attrs = eventMetricsDuration.Append(attrs, p.cfg.Now(), dims[:], 1, ms)
			}
		} else if alerts {
			attrs = alertMetrics.Append(attrs, p.cfg.Now(), dims[:], 1, 1)
		} else {
			attrs = eventMetrics.Append(attrs, p.cfg.Now(), dims[:], 1)
		}
	}
	line.Attrs = attrs
	line.Took = p.cfg.Now().Sub(start)
	line.Write(ctx, p.log)
}

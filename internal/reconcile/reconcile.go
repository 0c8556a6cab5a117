// Package reconcile finds the Stripe events the webhook never handled, in
// Stripe's Events API, and runs them through the same pipeline as webhook
// deliveries, so that nothing is lost: every event a Handler method exists
// for is handled exactly once within Stripe's 30 days, or someone is told.
// Deliveries that failed for good, or never came (the endpoint was down,
// disabled or deleted), are caught up this way.
//
// A Reconciler runs in passes (a scheduled Lambda invocation each, or
// `reconcile once`). A pass
//
//  1. reads the webhook endpoint (EndpointIDSecret) and reports it when it
//     is disabled or gone (the watchdog);
//  2. loads its State from the dedup table (StateStore);
//  3. runs the pending events again: those an earlier pass found failed or
//     held by another run. An event 30 days old, or one Stripe no longer
//     has, is logged as lost and dropped;
//  4. lists the events created from where the last pass stopped (less
//     Overlap, for Stripe's clock and list consistency; the first pass
//     starts Lookback ago) until Grace ago (so that Stripe's own first
//     delivery attempts come first), of the types the Handler has methods
//     for, oldest first, and runs each through the pipeline; the dedup
//     store makes an event already handled a duplicate;
//  5. saves its State, every SaveEvery events and at the end, and writes
//     one summary line ("msg":"reconcile") carrying its metrics.
//
// The watermark (State.Watermark) advances only past events that are done:
// completed, or with nothing to run. A failed or in-progress event stays
// pending and holds it back; later passes run it again until it succeeds or
// is lost. A pass stops a margin before its context's deadline and saves
// where it stopped, so that the next one resumes there, neither skipping
// nor repeating events.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/function"
	"stripetask/internal/metrics"
	"stripetask/internal/pipeline"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripeevents"
	"stripetask/secrets"
)

// Defaults and bounds of Config.
const (
	// DefaultGrace is the default Config.Grace.
	DefaultGrace = 10 * time.Minute
	// DefaultLookback is the default Config.Lookback.
	DefaultLookback = time.Hour
	// MaxLookback is the longest Config.Lookback: Stripe keeps events 30
	// days.
	MaxLookback = stripeevents.Retention
	// DefaultOverlap is the default Config.Overlap.
	DefaultOverlap = 5 * time.Minute
	// DefaultMaxPending is the default Config.MaxPending.
	DefaultMaxPending = 1000
	// DefaultSaveEvery is the default Config.SaveEvery.
	DefaultSaveEvery = 50
	// DefaultMinEventTime is the default Config.MinEventTime.
	DefaultMinEventTime = time.Second
)

// SourceName names the reconciler as the source of the events it runs,
// in the pipeline's delivery lines.
const SourceName = "reconcile"

// source is the pipeline source of every event a pass runs.
var source = &pipeline.Source{Name: SourceName}

// Lost is the outcome, in a "delivery" line, of an event that was never
// handled and that Stripe no longer keeps (30 days old).
const Lost pipeline.Outcome = "lost"

// Runner runs one event; *pipeline.Pipeline implements it.
type Runner interface {
	Handle(ctx context.Context, in pipeline.Input) pipeline.Result
}

// Config configures a Reconciler.
type Config struct {
	// Secrets supplies STRIPE_KEY (and STRIPE_API_BASE) for the Events API,
	// and EndpointIDSecret. Required.
	Secrets secrets.Source
	// Stripe builds the Stripe client from the secrets; nil: a default one.
	Stripe *stripeclient.Cache
	// Log receives the summary line, lost events and the watchdog's lines;
	// nil discards them.
	Log *slog.Logger
	// Pipeline runs the events. Required, and it must have the dedup
	// store: without one, an event handled by the webhook would run again.
	Pipeline Runner
	// Types are the event types the Handler has methods for
	// (Dispatcher.EventTypes); AllTypes lists every type instead (the
	// Handler has a Default method). With neither, there is nothing to
	// reconcile.
	Types    []string
	AllTypes bool
	// State keeps the watermark between passes. Required.
	State StateStore
	// Grace is how old an event must be before a pass looks at it, so that
	// Stripe's own first attempts come first (DefaultGrace, say). Zero:
	// none.
	Grace time.Duration
	// Lookback is how far back the first pass, with no saved state,
	// looks: longer than Grace, at most MaxLookback. Zero: DefaultLookback.
	Lookback time.Duration
	// Overlap is how far before where the last pass stopped the next one
	// lists again, for events that Stripe lists late. Zero: DefaultOverlap;
	// negative: none.
	Overlap time.Duration
	// MaxPending bounds the pending events kept in the state. When that
	// many are pending, the pass stops listing new events (it resumes once
	// some are done). Zero: DefaultMaxPending.
	MaxPending int
	// SaveEvery is how many events a pass runs between saves of its
	// progress. Zero: DefaultSaveEvery.
	SaveEvery int
	// MinEventTime is the least time before the pass's own deadline (its
	// context's, less function.Tail) for it to start one more event. Zero:
	// DefaultMinEventTime.
	MinEventTime time.Duration
	// Chunk is how much of the window is listed at a time
	// (stripeevents.Client.WithChunk). Zero: stripeevents.DefaultChunk.
	Chunk time.Duration
	// Function names the function in the summary's metrics (dimension
	// Function). Empty: "reconcile".
	Function string
	// Now is the clock events' creation times are compared with (the
	// window, ages). Nil: time.Now. Deadlines are always measured with the
	// real clock.
	Now func() time.Time
}

// Reconciler runs reconciliation passes. Passes of one Reconciler, or of
// several sharing a table, may overlap: the dedup store keeps each event
// to one run, and a pass whose state was saved by another meanwhile stops.
type Reconciler struct {
	cfg Config
}

// New returns a Reconciler, or an error naming a setting out of range.
func New(cfg Config) (*Reconciler, error) {
	if cfg.Secrets == nil || cfg.Pipeline == nil || cfg.State == nil {
		return nil, errors.New("reconcile: Secrets, Pipeline and State are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Stripe == nil {
		cfg.Stripe = stripeclient.NewCache(nil, cfg.Log)
	}
	if cfg.Lookback == 0 {
		cfg.Lookback = DefaultLookback
	}
	switch {
	case cfg.Overlap == 0:
		cfg.Overlap = DefaultOverlap
	case cfg.Overlap < 0:
		cfg.Overlap = 0
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = DefaultMaxPending
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = DefaultSaveEvery
	}
	if cfg.MinEventTime <= 0 {
		cfg.MinEventTime = DefaultMinEventTime
	}
	if cfg.Function == "" {
		cfg.Function = SourceName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := CheckWindow(cfg.Grace, cfg.Lookback); err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	return &Reconciler{cfg: cfg}, nil
}

// CheckWindow checks a grace and a lookback: the grace not negative, the
// lookback longer than it and at most MaxLookback.
func CheckWindow(grace, lookback time.Duration) error {
	switch {
	case grace < 0:
		return fmt.Errorf("grace %v is negative", grace)
	case lookback > MaxLookback:
		return fmt.Errorf("lookback %v is longer than the %v Stripe keeps events", lookback, MaxLookback)
	case lookback <= grace:
		return fmt.Errorf("lookback %v is not longer than the grace %v: the first pass would look at nothing", lookback, grace)
	}
	return nil
}

// Reasons a pass stopped before it was complete (Summary.Stopped).
const (
	// StoppedDeadline: its context's deadline (less the margin) came.
	StoppedDeadline = "deadline"
	// StoppedCancelled: its context was cancelled (an interrupted `once`).
	StoppedCancelled = "cancelled"
	// StoppedPendingFull: MaxPending events are pending.
	StoppedPendingFull = "pending_full"
	// StoppedConflict: another pass saved the state meanwhile.
	StoppedConflict = "conflict"
	// StoppedError: the pass failed (see the error).
	StoppedError = "error"
)

// errStop ends a pass's listing early, for the reason in Summary.Stopped.
var errStop = errors.New("reconcile: pass stopped")

// ErrStripeSilent reports a pass whose time ran out waiting on Stripe's
// Events API before it had read a single event: the API hangs (a network
// that accepts connections and never answers), which is a failure of the
// pass, alarmed (ReconcileErrorsAlarm), not a pass cut short by its
// deadline with progress to save.
var ErrStripeSilent = errors.New("reconcile: Stripe's Events API did not answer before the pass's deadline")

// pass is one run of Reconciler.Pass.
type pass struct {
	r       *Reconciler
	id      string
	start   time.Time
	secrets secrets.Map
	events  *stripeevents.Client
	st      State
	pending map[string]Pending // by id: st.Pending while the pass runs
	seen    map[string]bool    // events run by this pass
	unsaved int                // events run since the last save
	work    context.Context    // ends the margin before the deadline
	saveCtx context.Context    // for saving, until the deadline itself
	sum     Summary
}

// Pass runs one pass (see the package documentation) and returns its
// summary, which it also logs. id identifies the pass in the log lines
// (the Lambda request id). The error reports a pass that failed: its
// secrets, its state or Stripe's Events API could not be read, or its
// progress could not be saved; events whose methods fail are not errors
// of the pass (they are pending, and counted in Summary.Failed). Its text
// has every secret value replaced by its name (function.RedactError). A
// pass stops a margin (function.Tail) before ctx's deadline.
func (r *Reconciler) Pass(ctx context.Context, id string) (Summary, error) {
	p := &pass{r: r, id: id, start: r.cfg.Now(), seen: map[string]bool{}}
	realStart := time.Now()
	work, cancelWork := function.Budget(ctx, realStart)
	defer cancelWork()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = realStart.Add(time.Hour)
	}
	saveCtx, cancelSave := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancelSave()
	p.work, p.saveCtx = work, saveCtx

	err := p.run()
	if err != nil && p.sum.Stopped == "" {
		p.sum.Stopped = StoppedError
	}
	p.finish()
	p.sum.Duration = time.Since(realStart)
	r.writeSummary(ctx, id, &p.sum, p.secrets, err)
	// The error leaves the function (the invocation's error, `once`'s
	// stderr) and may quote Stripe's error text, which may quote the key.
	return p.sum, function.RedactError(p.secrets, err)
}

// run is the pass itself.
func (p *pass) run() error {
	cfg := &p.r.cfg
	m, err := cfg.Secrets.Load(p.work)
	if err != nil {
		return fmt.Errorf("reconcile: loading the secrets: %w", err)
	}
	p.secrets = m
	api := cfg.Stripe.Client(m)
	p.events = stripeevents.New(api)
	if cfg.Chunk > 0 {
		p.events = p.events.WithChunk(cfg.Chunk)
	}
	p.sum.Endpoint = checkEndpoint(p.work, api, m, cfg.Log)

	if p.st, err = cfg.State.Load(p.work); err != nil {
		return err
	}
	p.pending = make(map[string]Pending, len(p.st.Pending))
	for _, e := range p.st.Pending {
		p.pending[e.ID] = e
	}
	from := p.window()

	if err := p.retryPending(); err != nil {
		return p.stopped(err)
	}
	if err := p.scan(from); err != nil {
		return p.stopped(err)
	}
	return p.saveLast()
}

// stopped saves the progress of a pass that stopped early with err, and
// returns what the pass returns: nil when it stopped for a reason of its
// own (Summary.Stopped), else err, with a failure to save.
func (p *pass) stopped(err error) error {
	if p.sum.Stopped == StoppedConflict {
		return nil // the state is another pass's now
	}
	if errors.Is(err, errStop) {
		return p.saveLast()
	}
	if serr := p.saveLast(); serr != nil {
		return errors.Join(err, serr)
	}
	return err
}

// saveLast saves the state at the end of a pass. A conflict is no failure:
// another pass saved meanwhile, and its state stands.
func (p *pass) saveLast() error {
	if err := p.save(); err != nil && p.sum.Stopped != StoppedConflict {
		return err
	}
	return nil
}

// window sets the pass's listing window and returns where listing starts.
// Without a saved state (the first pass), it starts Lookback ago.
func (p *pass) window() int64 {
	cfg := &p.r.cfg
	to := p.start.Add(-cfg.Grace).Unix()
	floor := p.start.Add(-stripeevents.Retention).Unix()
	var from int64
	if p.st.Version == 0 {
		p.st.Resume = Position{Created: p.start.Add(-cfg.Lookback).Unix()}
		from = p.st.Resume.Created
	} else {
		from = p.st.Resume.Created - int64(cfg.Overlap/time.Second)
	}
	if p.st.Resume.Created < floor {
		cfg.Log.Error("reconcile: events were never checked, and Stripe no longer keeps them: no pass ran for 30 days",
			"unchecked_from", rfc3339(p.st.Resume.Created), "unchecked_to", rfc3339(floor))
		p.st.Resume = Position{Created: floor}
	}
	from = max(from, floor)
	p.sum.From, p.sum.To = time.Unix(from, 0).UTC(), time.Unix(to, 0).UTC()
	return from
}

// retryPending runs the pending events again, oldest first.
func (p *pass) retryPending() error {
	for _, e := range p.pendingList() {
		if p.outOfTime() {
			p.sum.Stopped = p.timeUp()
			return errStop
		}
		if p.start.Sub(time.Unix(e.Created, 0)) >= stripeevents.Retention {
			p.lost(e, "unhandled for 30 days: Stripe no longer keeps the event")
			continue
		}
		ev, err := p.events.Get(p.work, e.ID)
		if err != nil {
			if se, ok := errors.AsType[*stripe.Error](err); ok && se.HTTPStatusCode == http.StatusNotFound {
				p.lost(e, "unhandled, and Stripe no longer has the event")
				continue
			}
			if p.work.Err() != nil {
				if p.sum.Listed == 0 {
					return fmt.Errorf("%w: fetching pending event %s: %w", ErrStripeSilent, e.ID, err)
				}
				p.sum.Stopped = p.timeUp()
				return errStop
			}
			return fmt.Errorf("reconcile: fetching pending event %s: %w", e.ID, err)
		}
		p.runEvent(ev)
		if err := p.afterEvent(); err != nil {
			return err
		}
	}
	return nil
}

// scan lists the window from from and runs each event not run yet.
func (p *pass) scan(from int64) error {
	cfg := &p.r.cfg
	if len(cfg.Types) == 0 && !cfg.AllTypes {
		cfg.Log.Warn("reconcile: the Handler has no event methods: nothing to reconcile")
		p.complete()
		return nil
	}
	q := stripeevents.Query{From: time.Unix(from, 0), To: p.sum.To}
	if !cfg.AllTypes {
		q.Types = cfg.Types
	}
	err := p.events.Each(p.work, q, func(e *stripe.Event) error {
		r := &p.st.Resume
		_, pending := p.pending[e.ID]
		if p.seen[e.ID] || pending || (e.Created == r.Created && slices.Contains(r.IDs, e.ID)) {
			return nil // run by this pass, or behind the resume position
		}
		if p.outOfTime() {
			p.sum.Stopped = p.timeUp()
			return errStop
		}
		if len(p.pending) >= cfg.MaxPending {
			p.sum.Stopped = StoppedPendingFull
			cfg.Log.Error("reconcile: too many events are pending: listing stops until some succeed",
				"pending", len(p.pending), "max_pending", cfg.MaxPending)
			return errStop
		}
		p.runEvent(e)
		switch {
		case e.Created > r.Created:
			*r = Position{Created: e.Created, IDs: []string{e.ID}}
		case e.Created == r.Created:
			r.IDs = append(r.IDs, e.ID)
		}
		return p.afterEvent()
	})
	switch {
	case err == nil:
		p.complete()
		return nil
	case errors.Is(err, errStop):
		return err
	case p.work.Err() != nil && p.sum.Listed == 0:
		return fmt.Errorf("%w: listing events: %w", ErrStripeSilent, err)
	case p.work.Err() != nil:
		p.sum.Stopped = p.timeUp()
		return errStop
	}
	return err
}

// complete moves the resume position past the window.
func (p *pass) complete() {
	p.sum.Complete = true
	if next := p.sum.To.Unix() + 1; next > p.st.Resume.Created {
		p.st.Resume = Position{Created: next}
	}
}

// StaysPending reports whether an event that ended with outcome stays pending:
// the reconciler's mapping of the outcome's disposition. Done leaves the
// pending events; Retry and Refused stay, retried by every pass until they
// are done or Stripe's 30 days are up (then logged lost).
func StaysPending(o pipeline.Outcome) bool { return !o.Done() }

// runEvent runs one event through the pipeline, counts its outcome, and
// keeps it pending unless it is done.
func (p *pass) runEvent(e *stripe.Event) {
	p.seen[e.ID] = true
	p.sum.Listed++
	res := p.r.cfg.Pipeline.Handle(p.work, pipeline.Input{Source: source, Event: e, RequestID: p.id, Secrets: p.secrets})
	switch res.Outcome {
	case pipeline.Duplicate:
		p.sum.AlreadyDone++
	case pipeline.Handled:
		p.sum.Dispatched++
		p.sum.Handled++
	case pipeline.InProgress:
		p.sum.InProgress++ // left to the run that holds it
	default:
		if res.Outcome.Done() {
			p.sum.Ignored++ // nothing to run, as the webhook acknowledges it
		} else {
			p.sum.Dispatched++
			p.sum.Failed++
		}
	}
	if !StaysPending(res.Outcome) {
		delete(p.pending, e.ID)
		return
	}
	p.pending[e.ID] = Pending{ID: e.ID, Type: string(e.Type), Created: e.Created}
}

// afterEvent saves the progress every SaveEvery events.
func (p *pass) afterEvent() error {
	p.unsaved++
	if p.unsaved < p.r.cfg.SaveEvery {
		return nil
	}
	if err := p.save(); err != nil {
		if p.sum.Stopped == StoppedConflict {
			return errStop
		}
		return err
	}
	return nil
}

// save saves the state. On a conflict it marks the pass stopped.
func (p *pass) save() error {
	p.st.Pending = p.pendingList()
	p.unsaved = 0
	err := p.r.cfg.State.Save(p.saveCtx, &p.st)
	if errors.Is(err, ErrConflict) {
		p.sum.Stopped = StoppedConflict
		p.r.cfg.Log.Warn("reconcile: another pass saved the state meanwhile: this one stops, leaving the state to it", "error", p.secrets.Redact(err.Error()))
	}
	return err
}

// outOfTime reports whether the pass must not start another event.
func (p *pass) outOfTime() bool {
	if p.work.Err() != nil {
		return true
	}
	d, ok := p.work.Deadline()
	return ok && time.Until(d) < p.r.cfg.MinEventTime
}

// timeUp says why the pass is out of time: its deadline, or its context
// was cancelled.
func (p *pass) timeUp() string {
	if errors.Is(p.work.Err(), context.Canceled) {
		return StoppedCancelled
	}
	return StoppedDeadline
}

// pendingList returns the pending events, oldest first.
func (p *pass) pendingList() []Pending {
	st := State{Pending: slices.Collect(maps.Values(p.pending))}
	st.sortPending()
	return st.Pending
}

// lostMetrics are the metrics of a lost event's line: the pipeline's
// Events count, with the outcome lost.
var lostMetrics = metrics.NewSchema([]string{"Function", "Outcome"}, metrics.Count("Events"))

// lost reports an event that was never handled and can no longer be: an
// error line shaped as the pipeline's delivery lines, with outcome lost.
// The event is no longer pending, and no longer holds the watermark.
func (p *pass) lost(e Pending, why string) {
	delete(p.pending, e.ID)
	p.sum.Lost++
	cfg := &p.r.cfg
	attrs := []slog.Attr{
		slog.String("source", SourceName),
		slog.String("event_id", e.ID),
		slog.String("event_type", e.Type),
		slog.String("outcome", string(Lost)),
		slog.String("created", rfc3339(e.Created)),
	}
	attrs = lostMetrics.Append(attrs, time.Now(), []string{cfg.Function, string(Lost)}, 1)
	line := function.Line{Msg: "delivery", Level: slog.LevelError, RequestID: p.id, Attrs: attrs, Err: errors.New(why)}
	line.Write(p.work, cfg.Log)
}

// finish completes the summary from the state.
func (p *pass) finish() {
	if p.pending == nil { // the state was never loaded
		return
	}
	p.st.Pending = p.pendingList()
	s := &p.sum
	s.Pending = len(p.st.Pending)
	s.Watermark = p.st.Watermark()
	oldest := int64(0)
	for _, e := range p.st.Pending {
		if oldest == 0 || e.Created < oldest {
			oldest = e.Created
		}
	}
	if !s.Complete && (oldest == 0 || p.st.Resume.Created < oldest) {
		// Not listed yet: not known to be handled.
		oldest = p.st.Resume.Created
	}
	if oldest != 0 {
		s.OldestUnhandledAge = max(0, p.start.Sub(time.Unix(oldest, 0)).Truncate(time.Second))
	}
}

func rfc3339(unix int64) string { return time.Unix(unix, 0).UTC().Format(time.RFC3339) }

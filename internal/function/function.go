// Package function holds what the project's functions share around their
// own handlers: their dependencies with their defaults (Deps), a warm-up
// that runs once and again until it has succeeded (Warmup), and the one
// JSON log line each request or event writes (Line), at a level its status
// sets (Level).
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"stripetask/internal/stripeclient"
	"stripetask/secrets"
)

// Deps are the dependencies every function's handler takes.
type Deps struct {
	// Secrets supplies the secrets. Required.
	Secrets secrets.Source
	// Log receives the function's log lines. Nil discards them.
	Log *slog.Logger
	// Stripe builds the Stripe client from the secrets; nil means one with
	// default settings, logging to Log.
	Stripe *stripeclient.Cache
	// RequestID extracts the request's id from its context
	// (transport.RequestID). Nil leaves it empty.
	RequestID func(context.Context) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// WithDefaults returns d with every unset optional field set to its
// default.
func (d Deps) WithDefaults() Deps {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Stripe == nil {
		d.Stripe = stripeclient.NewCache(nil, d.Log)
	}
	if d.RequestID == nil {
		d.RequestID = func(context.Context) string { return "" }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return d
}

// Warmup runs a cold start's preparation (loading secrets, a handler's
// Init) until it has succeeded once. The zero value is ready to use.
type Warmup struct {
	done atomic.Bool
	once sync.Once
	turn chan struct{} // holds a token while f runs
}

// ErrWarmupBusy reports a Do that gave up, at its context's end, waiting
// for a warm-up to finish (a Handler Init that ignores its ctx, say): its
// own, which goes on alone and is used if it succeeds, or another call's.
var ErrWarmupBusy = errors.New("the warm-up (secrets, Init) did not finish in time")

// Do runs f, unless a call of Do already succeeded, and returns its error.
// Calls are serialised: one that arrives while f runs waits for it. No call
// waits past its own context's end: then it returns ErrWarmupBusy, and an f
// it started goes on alone (so that an Init ignoring its ctx cannot take an
// invocation past its deadline); its success counts for every later call.
// After a success, Do costs one atomic load.
func (w *Warmup) Do(ctx context.Context, f func(context.Context) error) error {
	if w.done.Load() {
		return nil
	}
	w.once.Do(func() { w.turn = make(chan struct{}, 1) })
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrWarmupBusy, context.Cause(ctx))
	}
	if w.done.Load() {
		<-w.turn
		return nil
	}
	res := make(chan error, 1)
	go func() {
		var err error
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("the warm-up panicked: %v", r)
			}
			if err == nil {
				w.done.Store(true)
			}
			<-w.turn
			res <- err
		}()
		err = f(ctx)
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrWarmupBusy, context.Cause(ctx))
	}
}

// Level is the level of a line about a request answered with status: error
// for 5xx, warning for 4xx, info otherwise.
func Level(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

// maxLineAttrs is how many attributes a Line holds without allocating.
const maxLineAttrs = 12

// Line is the one log line of a request or an event. Its attributes are, in
// order: request_id, Attrs, status (when not zero), duration_ms, and error
// and stack when set, with every secret value in them replaced by its name.
type Line struct {
	Msg       string
	Level     slog.Level
	RequestID string
	Attrs     []slog.Attr
	Status    int
	Took      time.Duration
	Err       error
	Stack     []byte
	// Secrets are redacted from Err and Stack.
	Secrets secrets.Map
}

// Write writes the line to log, if log is enabled at its level.
func (l *Line) Write(ctx context.Context, log *slog.Logger) {
	if !log.Enabled(ctx, l.Level) {
		return
	}
	var buf [maxLineAttrs]slog.Attr
	attrs := append(buf[:0], slog.String("request_id", l.RequestID))
	attrs = append(attrs, l.Attrs...)
	if l.Status != 0 {
		attrs = append(attrs, slog.Int("status", l.Status))
	}
	attrs = append(attrs, slog.Float64("duration_ms", float64(l.Took.Microseconds())/1000))
	if l.Err != nil {
		attrs = append(attrs, slog.String("error", l.Secrets.Redact(l.Err.Error())))
	}
	if l.Stack != nil {
		attrs = append(attrs, slog.String("stack", l.Secrets.Redact(string(l.Stack))))
	}
	log.LogAttrs(ctx, l.Level, l.Msg, attrs...)
}

// RedactError returns err with every secret value of m in its text
// replaced by the secret's name (secrets.Map.Redact, as Line does), for an
// error that leaves the function other than through a Line: a Lambda
// invocation's error, a message on standard error. Such an error may quote
// a value: Stripe's error text (a server may echo the API key), a
// handler's own. errors.Is and errors.As see err's chain as before, though
// the errors in it keep their own, unredacted, text. A nil err, or one
// whose text holds no secret, is returned as it is.
func RedactError(m secrets.Map, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if r := m.Redact(msg); r != msg {
		return &redactedError{err: err, msg: r}
	}
	return err
}

// redactedError is an error whose text has its secret values redacted.
type redactedError struct {
	err error
	msg string
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// MaxTail is the most time kept at the end of an invocation, after its
// work, to record the outcome (a dedup write) and answer. With less than
// four times it left, a quarter of what is left is kept.
const MaxTail = 1500 * time.Millisecond

// Tail returns the time to keep at the end of an invocation that has
// remaining time left.
func Tail(remaining time.Duration) time.Duration {
	return max(0, min(MaxTail, remaining/4))
}

// Budget returns ctx ending Tail before ctx's deadline, for the work of an
// invocation (Stripe calls, secrets, dedup), so that the function still has
// time to answer with its own error rather than the platform's timeout.
// Without a deadline, it returns ctx itself.
func Budget(ctx context.Context, now time.Time) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, d.Add(-Tail(d.Sub(now))))
}

package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"stripetask/internal/function"
	"stripetask/internal/metrics"
	"stripetask/secrets"
)

// Summary is what one pass did.
type Summary struct {
	// From and To bound the creation times of the events the pass listed
	// (both included).
	From, To time.Time
	// Listed counts the events the pass ran through the pipeline: the
	// pending ones again, and those it listed that no pass had run.
	Listed int
	// AlreadyDone counts the events that were completed before (duplicate).
	AlreadyDone int
	// Dispatched counts the events whose method the pass ran, or tried to
	// run: Handled plus Failed. These are the events it found unhandled.
	Dispatched int
	// Handled counts the events whose method returned nil.
	Handled int
	// Failed counts the events that did not succeed (the method failed,
	// panicked or timed out, or the dedup store or the secrets were
	// unavailable). They stay pending.
	Failed int
	// InProgress counts the events held by a live run elsewhere (a webhook
	// delivery), left to it. They stay pending.
	InProgress int
	// Ignored counts the events with nothing to run: no method any more, or
	// a test-mode event under a live key.
	Ignored int
	// Lost counts the events logged as lost: 30 days old and never handled.
	Lost int
	// Pending is how many events are pending after the pass.
	Pending int
	// OldestUnhandledAge is the age of the oldest event not known to be
	// done: the oldest pending one or, when the pass stopped before the end
	// of its window, the first it did not list. Zero when there is none.
	OldestUnhandledAge time.Duration
	// Watermark is State.Watermark after the pass.
	Watermark time.Time
	// Complete reports that the pass listed its whole window.
	Complete bool
	// Stopped says why the pass stopped before its end (Stopped*), or is
	// empty.
	Stopped string
	// Endpoint is what the watchdog found.
	Endpoint EndpointCheck
	// Duration is how long the pass took.
	Duration time.Duration
}

// SummaryMsg is the message of the summary line of every pass.
const SummaryMsg = "reconcile"

// Metrics of the summary line (namespace metrics.Namespace, dimension
// Function): ReconcileMissed (Summary.Dispatched), ReconcileFailed
// (Summary.Failed), OldestUnhandledAge (seconds), and EndpointDisabled (1
// when the endpoint is disabled or missing, 0 when enabled; absent when it
// could not be checked).
var (
	summaryMetrics = metrics.NewSchema([]string{"Function"},
		metrics.Count("ReconcileMissed"), metrics.Count("ReconcileFailed"), metrics.Seconds("OldestUnhandledAge"))
	summaryMetricsEndpoint = metrics.NewSchema([]string{"Function"},
		metrics.Count("ReconcileMissed"), metrics.Count("ReconcileFailed"), metrics.Seconds("OldestUnhandledAge"), metrics.Gauge("EndpointDisabled"))
)

// writeSummary writes the pass's one summary line: error level for a pass
// that failed, warning when events failed or were lost or the pass stopped
// early, info otherwise.
func (r *Reconciler) writeSummary(ctx context.Context, id string, s *Summary, m secrets.Map, passErr error) {
	level := slog.LevelInfo
	switch {
	case passErr != nil:
		level = slog.LevelError
	case s.Failed > 0 || s.Lost > 0 || s.Stopped != "" || s.Endpoint.Down():
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Int("listed", s.Listed),
		slog.Int("already_done", s.AlreadyDone),
		slog.Int("dispatched", s.Dispatched),
		slog.Int("handled", s.Handled),
		slog.Int("failed", s.Failed),
		slog.Int("in_progress", s.InProgress),
		slog.Int("ignored", s.Ignored),
		slog.Int("lost", s.Lost),
		slog.Int("pending", s.Pending),
		slog.Int64("oldest_unhandled_age_s", int64(s.OldestUnhandledAge/time.Second)),
		slog.String("window_from", timeString(s.From)),
		slog.String("window_to", timeString(s.To)),
		slog.String("watermark", timeString(s.Watermark)),
		slog.Bool("complete", s.Complete),
	}
	if s.Stopped != "" {
		attrs = append(attrs, slog.String("stopped", s.Stopped))
	}
	attrs = append(attrs, slog.String("endpoint_status", s.Endpoint.Status))
	if s.Endpoint.ID != "" {
		attrs = append(attrs, slog.String("endpoint_id", s.Endpoint.ID))
	}
	values := []float64{float64(s.Dispatched), float64(s.Failed), float64(s.OldestUnhandledAge / time.Second)}
	dims := []string{r.cfg.Function}
	if s.Endpoint.Measured() {
		disabled := 0.0
		if s.Endpoint.Down() {
			disabled = 1
		}
		attrs = summaryMetricsEndpoint.Append(attrs, time.Now(), dims, append(values, disabled)...)
	} else {
		attrs = summaryMetrics.Append(attrs, time.Now(), dims, values...)
	}
	line := function.Line{Msg: SummaryMsg, Level: level, RequestID: id, Attrs: attrs, Took: s.Duration, Err: passErr, Secrets: m}
	line.Write(ctx, r.cfg.Log)
}

// timeString formats t in RFC 3339, UTC; "" for the zero time.
func timeString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// Text describes the pass for a person, in a few lines.
func (s Summary) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "reconcile: events created %s to %s\n", timeString(s.From), timeString(s.To))
	fmt.Fprintf(&b, "  listed %d: %d already done, %d dispatched (%d handled, %d failed), %d in progress elsewhere, %d ignored\n",
		s.Listed, s.AlreadyDone, s.Dispatched, s.Handled, s.Failed, s.InProgress, s.Ignored)
	oldest := "none"
	if s.OldestUnhandledAge > 0 {
		oldest = s.OldestUnhandledAge.String() + " old"
	}
	fmt.Fprintf(&b, "  lost %d; pending %d; oldest unhandled: %s; watermark %s\n", s.Lost, s.Pending, oldest, timeString(s.Watermark))
	switch s.Endpoint.Status {
	case EndpointNotWatched:
		fmt.Fprintf(&b, "  webhook endpoint: not watched (%s is not set; make register stores it)\n", EndpointIDSecret)
	case EndpointDisabled:
		fmt.Fprintf(&b, "  webhook endpoint %s: DISABLED: enable it in the Dashboard or with `stripe webhook_endpoints update %[1]s --disabled=false`\n", s.Endpoint.ID)
	case EndpointMissing:
		fmt.Fprintf(&b, "  webhook endpoint %s: MISSING at Stripe: run make register\n", s.Endpoint.ID)
	case "":
	default:
		fmt.Fprintf(&b, "  webhook endpoint %s: %s\n", s.Endpoint.ID, s.Endpoint.Status)
	}
	switch s.Stopped {
	case "":
	case StoppedDeadline:
		b.WriteString("  stopped at its deadline: the next pass resumes where it stopped\n")
	case StoppedCancelled:
		b.WriteString("  interrupted: the next pass resumes where it stopped\n")
	case StoppedPendingFull:
		b.WriteString("  stopped listing: too many events are pending; fix the failing methods\n")
	case StoppedConflict:
		b.WriteString("  stopped: another pass saved the state meanwhile\n")
	default:
		fmt.Fprintf(&b, "  stopped: %s\n", s.Stopped)
	}
	return b.String()
}

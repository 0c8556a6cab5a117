package pipeline

import "log/slog"

// Outcome says what became of one event. Its values are the words of the
// "outcome" attribute of the log line and of the Outcome dimension of its
// metrics. The set is closed: Outcomes lists every value, including those
// of the events a source refuses before the pipeline, and each has one
// Disposition and one Alerts answer that every source and the template's
// alarms follow.
type Outcome string

// The outcomes of Handle.
const (
	// Handled: the method ran and returned nil. Done.
	Handled Outcome = "handled"
	// Ignored: no method and no Default; nothing ran. Done.
	Ignored Outcome = "ignored"
	// Duplicate: a run of the event already completed; nothing ran. Done.
	Duplicate Outcome = "duplicate"
	// TestEventInLiveMode: a test-mode event (livemode false) reached a
	// function whose STRIPE_KEY is a live key (a live Connect endpoint
	// also receives its connected accounts' test events); nothing ran, by
	// design: it is done. Config.AcceptTestEvents runs them.
	TestEventInLiveMode Outcome = "test_event_in_live_mode"
	// Queued: with a Queue, the event was sent to it, to run elsewhere;
	// the queue now owns its retries. Done for the source that queued it.
	Queued Outcome = "queued"

	// InProgress: another run holds a live claim on the event; nothing
	// ran. Retry: once that run settles, a retry is a duplicate or runs.
	InProgress Outcome = "in_progress"
	// HandlerError: the method returned an error. Retry, and alert.
	HandlerError Outcome = "handler_error"
	// HandlerPanic: the method panicked; the panic was recovered. Retry,
	// and alert.
	HandlerPanic Outcome = "handler_panic"
	// HandlerTimeout: the method did not return by its deadline, though
	// its context had ended; the event was answered without it. In AWS
	// Lambda the execution environment is then ended right after the
	// answer (see Pipeline.Abandoned), so the run dies like a crash: its
	// claim lapses at its lease and a retry runs the event again. Retry,
	// and alert.
	HandlerTimeout Outcome = "handler_timeout"
	// DedupUnavailable: the dedup store could not answer; nothing ran.
	// Retry, and alert.
	DedupUnavailable Outcome = "dedup_unavailable"
	// SecretsUnavailable: the secrets could not be loaded; nothing ran.
	// Retry, and alert.
	SecretsUnavailable Outcome = "secrets_unavailable"
	// InitFailed: the Handler's Init failed; nothing ran. Retry, and
	// alert.
	InitFailed Outcome = "init_failed"
	// QueueUnavailable: with a Queue, the queue did not take the event;
	// nothing ran. Retry, and alert.
	QueueUnavailable Outcome = "queue_unavailable"

	// UndecodableObject: data.object does not decode into the method's
	// type; nothing ran. Refused, and alert: the Handler's types and
	// Stripe's payloads disagree, which no retry mends.
	UndecodableObject Outcome = "undecodable_object"
	// NotEvent: the body is JSON but not a Stripe event. Refused.
	NotEvent Outcome = "not_event"
	// Malformed: the body is not valid JSON. Refused.
	Malformed Outcome = "malformed"
	// APIVersionMismatch: STRICT_API_VERSION refused the event's
	// api_version. Refused, and alert: the endpoint's API version and the
	// function's disagree.
	APIVersionMismatch Outcome = "api_version_mismatch"
)

// The outcomes of events a source refuses before the pipeline (see
// Pipeline.Refuse). They are part of the one closed set so that every
// source and alarm reads them from the same table.
const (
	// MethodNotAllowed: an HTTP delivery that is not a POST. Refused.
	MethodNotAllowed Outcome = "method_not_allowed"
	// AuthNotConfigured: the webhook has neither a signing secret nor
	// Basic-auth credentials, so it cannot authenticate anything. Retry
	// (the delivery is fine; the function is not), and alert.
	AuthNotConfigured Outcome = "auth_not_configured"
	// Unauthorized: wrong or missing Basic-auth credentials. Refused.
	Unauthorized Outcome = "unauthorized"
	// TooLarge: a body over the webhook's limit. Refused.
	TooLarge Outcome = "too_large"
	// UnreadableBody: the body could not be read. Refused.
	UnreadableBody Outcome = "unreadable_body"
	// BadSignature: a missing, malformed, stale or wrong Stripe-Signature.
	// Refused. One is noise from the internet; a burst is a wrong or
	// rotated signing secret, which the template alarms on separately.
	BadSignature Outcome = "bad_signature"
	// ForeignSource: an EventBridge event from another source than the
	// configured STRIPE_EVENT_SOURCE (or with none configured): unsigned,
	// so never run. Refused, and alert: someone may be forging events.
	ForeignSource Outcome = "foreign_source"
)

// Disposition is what an outcome means for its event, whatever carried it:
// whether it is done, must be tried again, or was refused. Each source
// translates it into its own answer, one mapping per source (the webhook's
// HTTP status, the worker's batch item failures, the EventBridge adapter's
// error, the reconciler's pending list, replay's exit code), and tests hold
// each mapping to this table.
type Disposition uint8

const (
	// Done: nothing more is to happen for the event: its method ran to
	// success, now or before, or there is nothing to run for it. Sources
	// acknowledge it and nothing retries it: the webhook answers 2xx, the
	// worker deletes the message, the EventBridge adapter succeeds, the
	// reconciler drops it from its pending events, replay counts it a
	// success.
	Done Disposition = iota + 1
	// Retry: the event did not run to success, for a reason another
	// attempt may not meet (the method failed, a dependency or another run
	// was in the way). Sources ask for it again: the webhook answers 5xx or
	// 409 (Stripe retries for 3 days), the worker reports a batch item
	// failure (redelivered after the visibility timeout, then
	// dead-lettered), the EventBridge adapter returns an error (Lambda's
	// asynchronous retries), the reconciler keeps it pending, replay exits
	// 1.
	Retry
	// Refused: the input cannot run as given (not a Stripe event, not
	// authenticated, too large, of a refused API version or source):
	// another attempt with the same bytes fails the same way. The webhook
	// answers 4xx; the worker reports a batch item failure, so that the
	// message ends in the dead-letter queue where someone sees it; the
	// EventBridge adapter acknowledges it (retrying cannot help; the line
	// is logged); the reconciler keeps it pending; replay exits 1.
	Refused
)

// String returns the disposition's name: done, retry or refused.
func (d Disposition) String() string {
	switch d {
	case Done:
		return "done"
	case Retry:
		return "retry"
	case Refused:
		return "refused"
	}
	return "unknown"
}

// disposition is the table: each outcome's disposition and whether an
// operator must be told of it (the template's failure alarm counts exactly
// the lines of the outcomes that alert, through the Alerts metric).
var disposition = map[Outcome]struct {
	d     Disposition
	alert bool
}{
	Handled:             {Done, false},
	Ignored:             {Done, false},
	Duplicate:           {Done, false},
	TestEventInLiveMode: {Done, false},
	Queued:              {Done, false},

	InProgress:         {Retry, false},
	HandlerError:       {Retry, true},
	HandlerPanic:       {Retry, true},
	HandlerTimeout:     {Retry, true},
	DedupUnavailable:   {Retry, true},
	SecretsUnavailable: {Retry, true},
	InitFailed:         {Retry, true},
	QueueUnavailable:   {Retry, true},
	AuthNotConfigured:  {Retry, true},

	UndecodableObject:  {Refused, true},
	NotEvent:           {Refused, false},
	Malformed:          {Refused, false},
	APIVersionMismatch: {Refused, true},
	MethodNotAllowed:   {Refused, false},
	Unauthorized:       {Refused, false},
	TooLarge:           {Refused, false},
	UnreadableBody:     {Refused, false},
	BadSignature:       {Refused, false},
	ForeignSource:      {Refused, true},
}

// Outcomes returns every outcome, in a fixed order: the closed set.
func Outcomes() []Outcome {
	return []Outcome{
		Handled, Ignored, Duplicate, TestEventInLiveMode, Queued,
		InProgress, HandlerError, HandlerPanic, HandlerTimeout, DedupUnavailable, SecretsUnavailable, InitFailed, QueueUnavailable, AuthNotConfigured,
		UndecodableObject, NotEvent, Malformed, APIVersionMismatch, MethodNotAllowed, Unauthorized, TooLarge, UnreadableBody, BadSignature, ForeignSource,
	}
}

// Disposition returns what the outcome means for its event. An outcome
// outside the closed set is Retry: whatever it is, it is not known to be
// done.
func (o Outcome) Disposition() Disposition {
	if e, ok := disposition[o]; ok {
		return e.d
	}
	return Retry
}

// Done reports whether the outcome's disposition is Done.
func (o Outcome) Done() bool { return o.Disposition() == Done }

// Alerts reports whether an operator must be told of an event with this
// outcome: a method that failed, a dependency or configuration that keeps
// events from running, or an input that no retry mends and that points at
// a fault (a type or API version mismatch, forged events). An outcome
// outside the closed set alerts.
func (o Outcome) Alerts() bool {
	if e, ok := disposition[o]; ok {
		return e.alert
	}
	return true
}

// Level is the level of the log line of an event with this outcome when
// its source gives no status: error for the outcomes that alert, info for
// those that are done, warning for the rest.
func (o Outcome) Level() slog.Level {
	switch {
	case o.Alerts():
		return slog.LevelError
	case o.Done():
		return slog.LevelInfo
	}
	return slog.LevelWarn
}

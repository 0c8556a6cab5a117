// Package eventbridge is the source adapter for Stripe events that arrive
// through Amazon EventBridge (a Stripe event destination: a partner event
// source in the user's AWS account), as Lambda invocations rather than
// HTTP deliveries. There is no signature: EventBridge and IAM authenticate
// the channel, and the event's source names the partner event source it
// came from. So the adapter fails closed: an event runs only if its source
// is exactly the configured partner event source (STRIPE_EVENT_SOURCE);
// with none configured (EventBridge not enabled, the template's default)
// every EventBridge event is refused, since anyone allowed to invoke the
// function (lambda:InvokeFunction) could otherwise run any method with a
// forged event. The Stripe event, in the EventBridge event's detail, runs
// through the same pipeline as a webhook delivery (dedup, the method, the
// log line, metrics).
//
// Failures follow the outcome's disposition (Failed): an event whose
// method failed, or that could not be run (the dedup store or the secrets
// unavailable, a live claim elsewhere), fails the invocation. EventBridge
// invokes Lambda asynchronously, so it is Lambda that retries a failed
// invocation, twice, and then drops it unless the function has an
// on-failure destination; the rule's retry policy and dead-letter queue
// cover only deliveries Lambda refuses
// (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html).
// Done events succeed, and so do refused ones, logged: an event from
// another source than the configured one, or any event when none is
// configured (outcome foreign_source), is acknowledged, never run or
// retried.
package eventbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"stripetask/internal/pipeline"
)

// PartnerPrefix starts the source of every event of a Stripe event
// destination: aws.partner/stripe.com/ed_...
const PartnerPrefix = "aws.partner/stripe.com/"

// ForeignSource is the outcome of an event refused for its source.
const ForeignSource = pipeline.ForeignSource

// ErrNotEventBridge reports a payload that is no EventBridge event.
var ErrNotEventBridge = errors.New("unrecognised Lambda event: not an HTTP event, nor an EventBridge event (version, id, detail-type, source, detail)")

// source is EventBridge as the pipeline sees it: refused events are errors
// in the log.
var source = &pipeline.Source{Name: "eventbridge", Level: func(o pipeline.Outcome) slog.Level {
	if o == ForeignSource {
		return slog.LevelError
	}
	return o.Level()
}}

// Event is the envelope EventBridge delivers.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

// Handler is the lambda.Handler of EventBridge events.
type Handler struct {
	p *pipeline.Pipeline
	// only is the one partner event source accepted
	// (STRIPE_EVENT_SOURCE); empty: none.
	only string
}

// New returns a Handler running events through p whose source is only,
// the partner event source's name (aws.partner/stripe.com/ed_...): events
// from any other source are refused. With only empty, every event is
// refused.
func New(p *pipeline.Pipeline, only string) *Handler {
	return &Handler{p: p, only: only}
}

// response is the invocation's answer.
type response struct {
	Status  pipeline.Outcome `json:"status"`
	EventID string           `json:"event_id,omitempty"`
}

// Failed reports whether an event with outcome fails its invocation, to be
// retried: the adapter's mapping of the outcome's disposition. Retry fails
// the invocation (Lambda's asynchronous retries, then the function's
// on-failure destination); Done and Refused succeed: a refused event is
// logged, and retrying the same event cannot mend it.
func Failed(o pipeline.Outcome) bool { return o.Disposition() == pipeline.Retry }

// maxQuoted bounds how much of an event's id and source, which anyone
// who may invoke the function chooses, a refusal quotes.
const maxQuoted = 128

// refusal is the error logged for an event refused for its source.
func (h *Handler) refusal(e *Event) error {
	id, src := quote(e.ID), quote(e.Source)
	if h.only == "" {
		return fmt.Errorf("event %s from source %s refused: STRIPE_EVENT_SOURCE is not set, so no EventBridge event runs "+
			"(they are not signed; set it to the partner event source, %sed_..., to run its events)", id, src, PartnerPrefix)
	}
	return fmt.Errorf("event %s from source %s refused: want STRIPE_EVENT_SOURCE %s", id, src, h.only)
}

// quote quotes s, cut to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "..."
	}
	return strconv.Quote(s)
}

// Invoke runs one EventBridge event. It returns an error when the payload
// is no EventBridge event, and when the event failed (see the package
// documentation); the error never quotes a secret or the handler's error,
// which are in the log line.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var e Event
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotEventBridge, err)
	}
	if e.ID == "" || e.DetailType == "" || e.Source == "" || len(e.Detail) == 0 {
		return nil, ErrNotEventBridge
	}
	in := pipeline.Input{Source: source, RequestID: e.ID}
	if h.only == "" || e.Source != h.only {
		h.p.Refuse(ctx, in, ForeignSource, h.refusal(&e))
		return json.Marshal(response{Status: ForeignSource})
	}
	in.Body = e.Detail
	res := h.p.Handle(ctx, in)
	out := response{Status: res.Outcome}
	if res.Event != nil {
		out.EventID = res.Event.ID
	}
	if Failed(res.Outcome) {
		return nil, fmt.Errorf("eventbridge: event %s: %s (see the delivery log line); Lambda retries the invocation", e.ID, res.Outcome)
	}
	return json.Marshal(out)
}

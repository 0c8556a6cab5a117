package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"stripetask/secrets"
)

// Env is what the runtime hands each handler call. Embed it (by value) in the
// Handler struct; its fields are then reachable as h.Stripe, h.Secrets,
// h.Event and h.Log.
//
// The runtime works on a fresh copy of the Handler for every event, so
// concurrent events never share an Env. The values the fields point to are
// shared, read-only: the Stripe client is one per secret set and safe for
// concurrent use, and Secrets is a snapshot that must not be modified.
type Env struct {
	// Stripe is a Stripe API client configured with the STRIPE_KEY secret,
	// with stripe-go's network retries on. Pass ctx in each call's
	// Params.Context so the call ends with the invocation.
	Stripe *client.API

	// Secrets holds every secret by name, e.g. h.Secrets["SLACK_URL"].
	Secrets secrets.Map

	// Event is the event being handled; nil in Init. ID, Type, Created,
	// Livemode, Account, APIVersion, Request and Data.PreviousAttributes are
	// set, and Data.Raw holds the exact bytes of data.object.
	//
	// Data.Object (stripe-go's untyped map) is filled only for methods that
	// take no typed object, Default and func(ctx) error, so that data.object
	// is decoded exactly once: methods taking a typed object get it as their
	// argument and find Data.Object nil.
	Event *stripe.Event

	// Log is the function's logger, carrying the request id and, in event
	// methods, the event id and type.
	Log *slog.Logger

	newest NewestFunc // see WithNewest; nil without an object log
}

// NewestFunc reports the creation time (Unix seconds) of the newest event
// handled so far about the object with the given id, and whether there is
// one.
type NewestFunc func(ctx context.Context, objectID string) (created int64, ok bool, err error)

// WithNewest returns env with newest as what Stale consults. The runtime
// sets it when it remembers the events it handled (DEDUP_TABLE).
func WithNewest(env Env, newest NewestFunc) Env {
	env.newest = newest
	return env
}

// ErrNoObjectLog is returned by Stale when the runtime does not remember
// what it handled: DEDUP_TABLE is not set.
var ErrNoObjectLog = errors.New("dispatch: Stale needs DEDUP_TABLE: without it nothing remembers which events were handled")

// Stale reports whether an event about the same data.object, created later
// than this one, has already been handled: this event's payload is then
// older than what was applied, and a handler that sets state from it (a
// subscription's status, say) should skip it, or fetch the object's current
// state instead. Events created in the same second are not stale of each
// other (Stripe's created has one-second resolution), and events about
// other objects (an invoice, for a subscription) are not considered. It
// needs DEDUP_TABLE (ErrNoObjectLog otherwise); an event without an object
// id is never stale.
func (e *Env) Stale(ctx context.Context) (bool, error) {
	if e.Event == nil || e.Event.Data == nil {
		return false, errors.New("dispatch: Stale is for event methods, not Init")
	}
	if e.newest == nil {
		return false, ErrNoObjectLog
	}
	id := objectID(e.Event.Data.Raw)
	if id == "" {
		return false, nil
	}
	newest, ok, err := e.newest(ctx, id)
	if err != nil {
		return false, fmt.Errorf("dispatch: whether %s is stale: %w", e.Event.ID, err)
	}
	return ok && newest > e.Event.Created, nil
}

// env gives the runtime access to the Env embedded in a Handler: the method
// is promoted to every struct that embeds Env.
func (e *Env) env() *Env { return e }

// maxIdempotencyKey is the longest idempotency key Stripe accepts.
const maxIdempotencyKey = 255

// IdempotencyKey returns an idempotency key for a Stripe write made while
// handling the current event. It is the same for every delivery of the event,
// so a write retried because Stripe redelivered the event is applied once.
// The parts tell apart the different writes one handler makes, for example
// h.IdempotencyKey("refund", chargeID). Pass it as Params.IdempotencyKey.
//
// Stripe keeps idempotency keys for 24 hours; beyond that, redeliveries are
// only deduplicated by the DEDUP_TABLE store. Outside an event (in Init)
// the key is built from the parts alone.
func (e *Env) IdempotencyKey(parts ...string) string {
	var b strings.Builder
	b.WriteString("stripetask")
	if e.Event != nil {
		b.WriteByte(':')
		b.WriteString(e.Event.ID)
	}
	for _, p := range parts {
		b.WriteByte(':')
		b.WriteString(p)
	}
	key := b.String()
	if len(key) <= maxIdempotencyKey {
		return key
	}
	// Too long for Stripe: keep it unique and deterministic with a digest.
	sum := sha256.Sum256([]byte(key))
	return "stripetask:" + hex.EncodeToString(sum[:])
}

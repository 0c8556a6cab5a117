package dispatch

import (
	"crypto/sha256"
	"encoding/hex"
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

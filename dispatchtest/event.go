package dispatchtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
)

// An Event is a Stripe event as JSON, as Stripe would send it: the
// envelope of stripe-go's API version with a fresh id and the current time,
// and in data.object a realistic object of the kind the event carries (see
// ObjectKind). Set and Edit change it; Deliver sends it. Its members keep
// their order, and every value no change touched keeps its exact literal.
//
// An Event from NewEvent or Webhook.NewEvent fails its test when a change
// cannot be made; one from Build records the first failure for Err.
type Event struct {
	tb   testing.TB
	err  error
	root *value
}

// NewEvent returns an event of eventType, one of the event types stripe-go
// v76 knows (dispatch.KnownEventTypes), with data.object taken from the
// test binary's stripe-mock, which it starts on first use. For the
// ExtraEventTypes of a Handler, use Webhook.NewEvent. It fails the test if
// eventType is unknown or stripe-mock cannot be started (run `make tools`).
func NewEvent(t testing.TB, eventType string) *Event {
	t.Helper()
	if !slices.Contains(dispatch.KnownEventTypes(), eventType) {
		t.Fatalf("dispatchtest.NewEvent: %q is not an event type stripe-go v76 knows (dispatch.KnownEventTypes); for one of your Handler's ExtraEventTypes use Webhook.NewEvent", eventType)
	}
	return newEventT(t, eventType)
}

// newEventT builds an event of eventType, known to be acceptable, from the
// shared stripe-mock, failing t.
func newEventT(t testing.TB, eventType string) *Event {
	t.Helper()
	objs, err := sharedObjects()
	if err != nil {
		t.Fatal(err)
	}
	e, err := build(t.Context(), objs, eventType)
	if err != nil {
		t.Fatalf("dispatchtest: building a %s event: %v", eventType, err)
	}
	e.tb = t
	return e
}

// Build returns an event of eventType as NewEvent does, for programs
// rather than tests (cmd/events): data.object comes from the stripe-mock
// at stripeAPI (its base URL, such as http://127.0.0.1:12111), and
// eventType is one of stripe-go v76's event types or of extraTypes (a
// Handler's ExtraEventTypes). The event's Set and Edit record their first
// failure instead of failing a test: check Err.
func Build(ctx context.Context, stripeAPI, eventType string, extraTypes ...string) (*Event, error) {
	if !slices.Contains(dispatch.KnownEventTypes(), eventType) && !slices.Contains(extraTypes, eventType) {
		return nil, fmt.Errorf("dispatchtest: %q is not an event type stripe-go v76 knows (dispatch.KnownEventTypes), nor one of the extra types %q", eventType, extraTypes)
	}
	e, err := build(ctx, newObjects(stripeAPI), eventType)
	if err != nil {
		return nil, fmt.Errorf("dispatchtest: building a %s event: %w", eventType, err)
	}
	return e, nil
}

// build assembles an event of eventType around an object from objs.
func build(ctx context.Context, objs *objects, eventType string) (*Event, error) {
	obj, err := objs.object(ctx, objectKind(eventType))
	if err != nil {
		return nil, err
	}
	envelope := struct {
		ID              string          `json:"id"`
		Object          string          `json:"object"`
		APIVersion      string          `json:"api_version"`
		Created         int64           `json:"created"`
		Data            json.RawMessage `json:"data"`
		Livemode        bool            `json:"livemode"`
		PendingWebhooks int             `json:"pending_webhooks"`
		Request         json.RawMessage `json:"request"`
		Type            string          `json:"type"`
	}{
		ID:              newEventID(),
		Object:          "event",
		APIVersion:      stripe.APIVersion,
		Created:         time.Now().Unix(),
		Data:            json.RawMessage(`{"object":` + string(obj) + `}`),
		PendingWebhooks: 1,
		Request:         json.RawMessage(`{"id":null,"idempotency_key":null}`),
		Type:            eventType,
	}
	b, err := json.Marshal(envelope)
	if err != nil {
		return nil, err
	}
	root, err := parseValue(b)
	if err != nil {
		return nil, err
	}
	return &Event{root: root}, nil
}

// newEventID returns a new event id, "evt_" and 24 random letters and
// digits, as Stripe's look.
func newEventID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 24)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "evt_" + string(b)
}

// fail reports a change that could not be made: it fails the test, or
// records the first failure of an Event from Build.
func (e *Event) fail(format string, args ...any) {
	if e.tb != nil {
		e.tb.Helper()
		e.tb.Fatalf(format, args...)
		return
	}
	if e.err == nil {
		e.err = fmt.Errorf(format, args...)
	}
}

// Set sets the value at path to v and returns e. A path names members
// with dots and array elements with indexes, [n] or a number between dots:
// "data.object.amount", "data.object.customer", "account",
// "data.object.refunds.data[0].amount", "data.object.metadata.order_id".
// Members missing on the way (or null) become objects; an index must
// exist, or be the array's length to append. v is encoded by
// encoding/json, except a json.RawMessage, which is used as it is; nil
// sets null.
func (e *Event) Set(path string, v any) *Event {
	if e.tb != nil {
		e.tb.Helper()
	}
	steps, err := parsePath(path)
	if err != nil {
		e.fail("dispatchtest: Set(%q): %v", path, err)
		return e
	}
	x, err := valueOf(v)
	if err != nil {
		e.fail("dispatchtest: Set(%q): the value: %v", path, err)
		return e
	}
	if err := setPath(e.root, steps, x); err != nil {
		e.fail("dispatchtest: Set(%q) on %s: %v", path, e.name(), err)
	}
	return e
}

// Get returns the value at path (as Set names it), decoded by
// encoding/json into an any (numbers are float64), or nil if there is
// none.
func (e *Event) Get(path string) any {
	steps, err := parsePath(path)
	if err != nil {
		return nil
	}
	v := lookup(e.root, steps)
	if v == nil {
		return nil
	}
	var x any
	json.Unmarshal(v.encode(), &x)
	return x
}

// Edit changes e's data.object through its stripe-go type T: it decodes
// data.object into a T, calls f with it, and writes back what f changed.
// Only what changed is written: every other member of data.object keeps its
// exact value, including those stripe-go does not know, and a reference
// that is an id stays an id (setting Customer to &stripe.Customer{ID:
// "cus_1"} writes "customer": "cus_1"). It returns e.
//
//	dispatchtest.Edit(e, func(c *stripe.Charge) { c.Amount = 5000; c.Paid = false })
func Edit[T any](e *Event, f func(*T)) *Event {
	if e.tb != nil {
		e.tb.Helper()
	}
	typ := reflect.TypeFor[T]()
	obj := lookup(e.root, []pathStep{{name: "data"}, {name: "object"}})
	if obj == nil || obj.kind != '{' {
		e.fail("dispatchtest: Edit(*%s) on %s: data.object is not an object", typ, e.name())
		return e
	}
	raw := obj.encode()
	before, after := new(T), new(T)
	if err := json.Unmarshal(raw, before); err != nil {
		e.fail("dispatchtest: Edit(*%s) on %s: data.object does not decode into *%[1]s: %v", typ, e.name(), err)
		return e
	}
	json.Unmarshal(raw, after)
	f(after)
	b, err := json.Marshal(before)
	if err != nil {
		e.fail("dispatchtest: Edit(*%s) on %s: encoding the object: %v", typ, e.name(), err)
		return e
	}
	a, err := json.Marshal(after)
	if err != nil {
		e.fail("dispatchtest: Edit(*%s) on %s: encoding the changed object: %v", typ, e.name(), err)
		return e
	}
	bv, err1 := parseValue(b)
	av, err2 := parseValue(a)
	if err1 != nil || err2 != nil {
		e.fail("dispatchtest: Edit(*%s) on %s: the encoded object is not JSON: %v %v", typ, e.name(), err1, err2)
		return e
	}
	patch(obj, bv, av)
	return e
}

// ID returns the event's id.
func (e *Event) ID() string { return e.root.member("id").str() }

// Type returns the event's type.
func (e *Event) Type() string { return e.root.member("type").str() }

// JSON returns the event as Stripe sends it: JSON indented by two spaces.
func (e *Event) JSON() []byte {
	var buf bytes.Buffer
	json.Indent(&buf, e.root.encode(), "", "  ")
	return buf.Bytes()
}

// Err returns the first change of an Event from Build that could not be
// made, or nil. An Event from NewEvent has failed its test instead.
func (e *Event) Err() error { return e.err }

// name names the event in messages.
func (e *Event) name() string { return fmt.Sprintf("%s %s", e.Type(), e.ID()) }

// Package dispatchtest tests Handler methods the way Stripe exercises
// them: realistic events of any type, delivered through the webhook's real
// path, in a Go test, with no network and no AWS.
//
//	func TestChargeSucceeded(t *testing.T) {
//		w := dispatchtest.NewWebhook(t, handler.Handler{})
//		e := w.NewEvent("charge.succeeded").Set("data.object.amount", 5000)
//		d := w.Deliver(t.Context(), e)
//		if d.Status != 200 || d.Outcome != "handled" {
//			t.Fatalf("got %d %s", d.Status, d.Outcome)
//		}
//	}
//
// # Events
//
// NewEvent (or Webhook.NewEvent, which also takes the Handler's
// ExtraEventTypes) builds an event of any of the 234 types stripe-go v76
// knows: the envelope Stripe sends (a new evt_ id, the current time,
// stripe-go's API version, test mode), and in data.object a realistic
// object of the kind the event carries, from stripe-mock. Set changes any
// member by its path ("data.object.customer", "account",
// "data.object.refunds.data[0].amount"); Edit changes data.object through
// its stripe-go type, leaving every member it does not change exactly as
// it was.
//
// # Where data.object comes from
//
// The kit starts stripe-mock (the release `make tools` installs) once per
// test binary, on first use, and takes one object of each kind from it,
// once: ObjectKind tells which kind an event type gets, and from where.
//
//   - From a GET of the object on stripe-mock, at the path its OpenAPI
//     specification gives (the table in objects_gen.go, generated from
//     that specification): the objects of 224 of the 234 event types, 68
//     kinds, from account to treasury.received_debit.
//   - From stripe-mock's own fixtures (fixtures3.json), for the kinds its
//     specification has no GET for: application
//     (account.application.authorized, account.application.deauthorized)
//     and billing_portal.session (billing_portal.session.created).
//   - Minimal, {"id": ..., "object": ...} alone, for the kinds stripe-mock
//     does not know, objects Stripe retired: order (order.created),
//     recipient (recipient.*) and sku (sku.*). So is the object of an
//     extra event type whose kind stripe-mock does not know.
//
// An event whose object can be of several kinds gets the first of
// dispatch.ObjectKinds: customer.source.* a card, account.external_account.*
// a bank account. Set("data.object", ...) puts any other object in its
// place. TestObjectSources holds this list to the table.
//
// # Deliveries
//
// NewWebhook puts a Handler behind the webhook's real http.Handler, in the
// test's process: every delivery is signed as Stripe signs it, with the
// Webhook's STRIPE_WEBHOOK_SECRET at the current time, then checked and run
// through the same event pipeline as in Lambda (decode, the dedup claim,
// the method, settle, the one log line). h.Stripe talks to the kit's
// stripe-mock; WithSecrets sets h.Secrets and the webhook's secrets. A
// Delivery tells what became of each: the status code Stripe would act
// on, the pipeline's outcome, the method, and the log lines.
//
// Stripe delivers at least once, in any order, and retries what failed:
// DeliverAll delivers a sequence, Duplicates repeats an event, Shuffle
// reorders events with a seed, Retry redelivers until the answer is 2xx,
// DeliverConcurrently delivers at the same moment. WithDedup adds the
// exactly-once store of DEDUP_TABLE, in memory.
//
// # The stripe-mock
//
// stripe-mock is found at $STRIPE_MOCK, in the module's bin directory, or
// on PATH; without it the test fails, saying to run `make tools`. It runs
// for the rest of the test binary and is stopped when the binary exits (on
// Linux by the kernel, however the binary exits). It and the objects taken
// from it are the package's only global state.
//
// Build makes the same events outside tests, from a stripe-mock the
// program runs itself (cmd/events does, for fixtures).
package dispatchtest

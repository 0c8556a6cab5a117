// Package dedup makes a piece of work run to success at most once per id, even
// when the same id is delivered again, to another process, or to several
// processes at the same time, while a run that failed stays retryable. It
// follows the idempotency utility of AWS Lambda Powertools.
//
// A run goes through three steps:
//
//	err := store.Claim(ctx, id, dedup.Claim{Owner: requestID, Lease: deadline})
//	switch {
//	case errors.Is(err, dedup.ErrCompleted):  // done before: acknowledge, do nothing
//	case errors.Is(err, dedup.ErrInProgress): // running elsewhere: ask to be retried later
//	case err != nil:                          // the store cannot answer: retry later
//	default:
//		if work(ctx) == nil {
//			err = store.Complete(ctx, id, requestID) // later claims return ErrCompleted
//		} else {
//			err = store.Release(ctx, id, requestID)  // a retry may run again
//		}
//	}
//
// A claim holds until its lease. A run that outlives its lease extends it
// (Extend) while it is alive, so that the lease passes only when the run is
// certainly dead: a claim left behind by a crashed run is taken over once
// its lease has passed, a live one never. A run that completes is remembered for the store's retention, and
// then forgotten: the same id then runs again.
//
// The guarantee has one gap: when the work succeeds but Complete fails (the
// store became unreachable, say), the success is not recorded, and once the
// lease has passed a later delivery of the id runs the work again.
//
// Ids, owners and kinds are opaque strings; the package knows nothing of
// what they name.
package dedup

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors returned by a Store. They are wrapped with details (the id, the
// holder of a claim, the cause); test for them with errors.Is.
var (
	// ErrCompleted reports that a run for the id already completed.
	ErrCompleted = errors.New("already completed")
	// ErrInProgress reports that another owner holds a live claim on the id.
	ErrInProgress = errors.New("in progress under another claim")
	// ErrNotOwner reports, from Complete or Release, that the caller no
	// longer holds an in-progress claim on the id: there is none, another
	// owner took it over after the caller's lease expired, or it is
	// already completed.
	ErrNotOwner = errors.New("claim not held by this owner")
	// ErrUnavailable reports that the store could not answer: it is
	// unreachable, slow, throttling, refusing access or misconfigured (a
	// missing table, say). The outcome of the operation is unknown;
	// retrying later may succeed. The error also wraps the cause.
	ErrUnavailable = errors.New("idempotency store unavailable")
)

// Retention bounds of a store.
const (
	// MinRetention is the least retention a store accepts: 31
	// days, longer than any sender delivers an id again. Stripe retries a
	// delivery for three days, but keeps events for 30 days, and a resend
	// from its Dashboard or API, or a replay from its Events API, can come
	// on any of them: no such delivery of a completed id may run again.
	MinRetention = 31 * 24 * time.Hour
	// DefaultRetention is the retention when none is given.
	DefaultRetention = MinRetention + time.Hour
)

// Options configure a store.
type Options struct {
	// Retention is how long a completed id is remembered, and how long an
	// abandoned claim outlives its lease (DefaultRetention if zero; at
	// least MinRetention).
	Retention time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// withDefaults returns o with its zero fields set to their defaults. It
// panics if o.Retention is positive but shorter than MinRetention.
func (o Options) withDefaults() Options {
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Retention < MinRetention {
		panic(fmt.Sprintf("dedup: retention %v is shorter than the minimum %v", o.Retention, MinRetention))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Store records which ids are in progress and which have completed.
// Implementations are safe for concurrent use, also from several processes
// sharing the same storage.
type Store interface {
	// Claim records id as in progress by c.Owner until c.Lease. It returns
	// nil when the caller now owns the id, including when it took over a
	// claim whose lease had expired, or already held it (a request retried
	// after its response was lost); an error wrapping ErrCompleted if a
	// run already completed within the retention; an error wrapping
	// ErrInProgress if another claim's lease is still live; an error
	// wrapping ErrUnavailable if the store cannot answer.
	Claim(ctx context.Context, id string, c Claim) error
	// Complete marks id, claimed by owner, as completed: claims are then
	// refused with ErrCompleted until the store's retention has passed. It
	// returns an error wrapping ErrNotOwner if owner no longer holds the
	// claim, or ErrUnavailable.
	Complete(ctx context.Context, id, owner string) error
	// Extend moves the lease of owner's in-progress claim on id to lease,
	// for a run that is still alive: a claim lapses only when its run
	// stops extending it. It returns an error wrapping ErrNotOwner if owner
	// no longer holds the claim, or ErrUnavailable.
	Extend(ctx context.Context, id, owner string, lease time.Time) error
	// Release deletes owner's in-progress claim on id so that a retry can
	// claim it at once. It returns an error wrapping ErrNotOwner if owner no
	// longer holds the claim, or ErrUnavailable. A claim that could not be
	// released lapses at its lease.
	Release(ctx context.Context, id, owner string) error
}

// Claim describes who claims an id, and for how long.
type Claim struct {
	// Owner identifies the claiming run. It must be unique to the run
	// (a request id is not: a request can be replayed), since Claim,
	// Extend, Complete and Release check it. Required.
	Owner string
	// Kind says what the id is, e.g. a type name. It is only kept, for
	// whoever inspects the store.
	Kind string
	// Lease is when the claim lapses if it is neither completed nor
	// released, unless extended. Required.
	Lease time.Time
	// Force claims the id even if a run of it completed: an operator runs
	// it again on purpose. A live claim still refuses it (ErrInProgress).
	Force bool
}

// Marks remembers, per key, the highest number it was given: an ordering
// hint kept beside the claims, such as the creation time of the newest
// piece of work done about one thing. Implementations are safe for
// concurrent use, from several processes too.
type Marks interface {
	// Raise records v as key's mark if it is higher than the mark key
	// has, or key has none; a lower or equal v changes nothing and is no
	// error. It returns an error wrapping ErrUnavailable if the store
	// cannot answer.
	Raise(ctx context.Context, key string, v int64) error
	// Mark returns key's mark and whether it has one, reading the latest
	// write; an error wraps ErrUnavailable.
	Mark(ctx context.Context, key string) (v int64, ok bool, err error)
}

// checkOwned checks the arguments of the operation op (complete, extend,
// release) on owner's claim on id.
func checkOwned(op, id, owner string) error {
	switch {
	case id == "":
		return fmt.Errorf("dedup: %s: empty id", op)
	case owner == "":
		return fmt.Errorf("dedup: %s %q: empty owner", op, id)
	}
	return nil
}

// checkLeased is checkOwned for an operation (claim, extend) that sets a
// lease, which must not be zero.
func checkLeased(op, id, owner string, lease time.Time) error {
	if err := checkOwned(op, id, owner); err != nil {
		return err
	}
	if lease.IsZero() {
		return fmt.Errorf("dedup: %s %q: no lease", op, id)
	}
	return nil
}

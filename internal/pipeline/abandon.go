package pipeline

import (
	"context"
	"sync"
	"time"
)

// abandoned tracks the runs answered without their method (HandlerTimeout):
// how many are still inside their method, and how many have returned and
// are recording their outcome in the dedup store.
type abandoned struct {
	mu       sync.Mutex
	running  int           // inside the method
	settling int           // returned, settling the claim
	changed  chan struct{} // closed and replaced at every change
}

// begin counts a run abandoned inside its method.
func (a *abandoned) begin() {
	a.mu.Lock()
	a.running++
	a.notify()
	a.mu.Unlock()
}

// returned moves a run from inside its method to settling.
func (a *abandoned) returned() {
	a.mu.Lock()
	a.running--
	a.settling++
	a.notify()
	a.mu.Unlock()
}

// settled forgets a run that has settled.
func (a *abandoned) settled() {
	a.mu.Lock()
	a.settling--
	a.notify()
	a.mu.Unlock()
}

// notify wakes the waiters of wait. a.mu is held.
func (a *abandoned) notify() {
	if a.changed != nil {
		close(a.changed)
		a.changed = nil
	}
}

// settleWait bounds how long Abandoned waits for abandoned runs that have
// returned to record their outcome.
const settleWait = 500 * time.Millisecond

// wait waits until no abandoned run is settling, for settleWait at most or
// until ctx ends, and reports whether a run is still inside its method (or
// still settling when the wait ended). With no abandoned run it returns at
// once, without allocating: it is asked after every invocation.
func (a *abandoned) wait(ctx context.Context) bool {
	a.mu.Lock()
	idle := a.running == 0 && a.settling == 0
	a.mu.Unlock()
	if idle {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, settleWait)
	defer cancel()
	for {
		a.mu.Lock()
		if a.settling == 0 {
			running := a.running > 0
			a.mu.Unlock()
			return running
		}
		if a.changed == nil {
			a.changed = make(chan struct{})
		}
		ch := a.changed
		a.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return true
		}
	}
}

// Abandoned reports whether a run answered without its method
// (HandlerTimeout) is still going on, once the abandoned runs that have
// already returned have recorded their outcome (waiting for those 500 ms at
// most, or until ctx ends). A source running in AWS Lambda asks it after every answer:
// true means the execution environment must end right after the answer
// (see internal/lambdaenv). Lambda freezes the environment once it has
// answered, so such a run would stand still holding its claim until its
// lease lapsed, and resume whenever the environment next thawed, hours
// later perhaps, beside or after a retry that had taken its claim over: two
// runs of one event. Ended, the run dies like a crash instead: its claim
// lapses at its lease and a retry runs the event once more (with
// h.IdempotencyKey covering the Stripe writes the first run made).
func (p *Pipeline) Abandoned(ctx context.Context) bool {
	return p.abandoned.wait(ctx)
}

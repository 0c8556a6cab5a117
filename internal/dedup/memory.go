package dedup

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Memory is a Store and Marks that keeps its records in the memory of one
// process: for tests and local runs, where several processes never share
// it. It holds its records exactly as the DynamoDB store holds its items
// (one record per id, marks under "mark#<key>", times in the same units) and
// decides every operation by the same conditions, so that the two answer
// alike: the contract tests of this package run against both. An operation
// whose context has ended fails, as a DynamoDB request would, with an error
// wrapping ErrUnavailable and the context's error, and changes nothing.
//
// Like a DynamoDB table before its Time to Live deletes them, it keeps
// records past their expiry, and treats them as absent where the DynamoDB
// store does. The zero value is not usable: call NewMemory.
type Memory struct {
	opts Options

	mu    sync.Mutex
	items map[string]*memItem
}

var (
	_ Store = (*Memory)(nil)
	_ Marks = (*Memory)(nil)
)

// memItem is one record: the attributes of a DynamoDB store's item. An
// attribute a DynamoDB item lacks is zero here with its has* flag false
// where a condition tests it.
type memItem struct {
	status, owner, kind string
	lease               int64 // Unix milliseconds
	hasLease            bool
	updated             int64 // Unix milliseconds
	expires             int64 // Unix seconds
	mark                int64
	hasMark             bool
}

// NewMemory returns an empty memory store. It panics if opts.Retention is
// positive but shorter than MinRetention, as NewDynamoDB does.
func NewMemory(opts Options) *Memory {
	return &Memory{opts: opts.withDefaults(), items: make(map[string]*memItem)}
}

// Claim implements Store: it takes the id when there is no record, when the
// record has expired, when it is an in-progress claim whose lease has
// passed, or (with Force) when it is completed.
func (s *Memory) Claim(ctx context.Context, id string, c Claim) error {
	if err := checkLeased("claim", id, c.Owner, c.Lease); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.unavailable("claim", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	old := s.items[id]
	free := old == nil ||
		old.expires < now.Unix() ||
		(old.status == statusInProgress && old.hasLease && old.lease < now.UnixMilli()) ||
		(c.Force && old.status == statusCompleted)
	if free {
		s.items[id] = &memItem{
			status:   statusInProgress,
			owner:    c.Owner,
			kind:     c.Kind,
			lease:    c.Lease.UnixMilli(),
			hasLease: true,
			updated:  now.UnixMilli(),
			expires:  c.Lease.Add(s.opts.Retention).Unix(),
		}
		return nil
	}
	switch old.status {
	case statusCompleted:
		return fmt.Errorf("dedup: claim %q: %w (%s)", id, ErrCompleted, old.describe())
	case statusInProgress:
		if old.owner == c.Owner {
			return nil // the owner's own live claim, as DynamoDB answers a retried PutItem
		}
	}
	return fmt.Errorf("dedup: claim %q: %w (%s)", id, ErrInProgress, old.describe())
}

// Complete implements Store.
func (s *Memory) Complete(ctx context.Context, id, owner string) error {
	return s.owned(ctx, "complete", id, owner, func(it *memItem, now time.Time) {
		it.status = statusCompleted
		it.expires = now.Add(s.opts.Retention).Unix()
		it.updated = now.UnixMilli()
	})
}

// Extend implements Store.
func (s *Memory) Extend(ctx context.Context, id, owner string, lease time.Time) error {
	if err := checkLeased("extend", id, owner, lease); err != nil {
		return err
	}
	return s.owned(ctx, "extend", id, owner, func(it *memItem, now time.Time) {
		it.lease, it.hasLease = lease.UnixMilli(), true
		it.expires = lease.Add(s.opts.Retention).Unix()
		it.updated = now.UnixMilli()
	})
}

// Release implements Store.
func (s *Memory) Release(ctx context.Context, id, owner string) error {
	return s.owned(ctx, "release", id, owner, func(*memItem, time.Time) {
		delete(s.items, id)
	})
}

// owned applies update to id's record if owner holds an in-progress claim
// on it, the condition of the DynamoDB store's Complete, Extend and
// Release; expiry is not part of it there either.
func (s *Memory) owned(ctx context.Context, op, id, owner string, update func(*memItem, time.Time)) error {
	if err := checkOwned(op, id, owner); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.unavailable(op, id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	if it == nil || it.owner != owner || it.status != statusInProgress {
		return fmt.Errorf("dedup: %s %q by %q: %w (%s)", op, id, owner, ErrNotOwner, it.describe())
	}
	update(it, s.opts.Now())
	return nil
}

// Raise implements Marks on the record "mark#<key>", which expires a
// retention after its last raise.
func (s *Memory) Raise(ctx context.Context, key string, v int64) error {
	if key == "" {
		return errors.New("dedup: raise: empty key")
	}
	if err := ctx.Err(); err != nil {
		return s.unavailable("raise", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[markPrefix+key]
	if it == nil {
		it = &memItem{}
		s.items[markPrefix+key] = it
	}
	if it.hasMark && it.mark >= v {
		return nil // the mark is already as high
	}
	now := s.opts.Now()
	it.mark, it.hasMark = v, true
	it.expires = now.Add(s.opts.Retention).Unix()
	it.updated = now.UnixMilli()
	return nil
}

// Mark implements Marks.
func (s *Memory) Mark(ctx context.Context, key string) (int64, bool, error) {
	if key == "" {
		return 0, false, errors.New("dedup: mark: empty key")
	}
	if err := ctx.Err(); err != nil {
		return 0, false, s.unavailable("mark", key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[markPrefix+key]
	if it == nil || it.expires < s.opts.Now().Unix() {
		return 0, false, nil
	}
	return it.mark, it.hasMark, nil
}

// unavailable wraps the error of an operation that could not run.
func (s *Memory) unavailable(op, id string, err error) error {
	return fmt.Errorf("%w: memory store: %s %q: %w", ErrUnavailable, op, id, err)
}

// describe summarises a record for an error message, in the words of the
// DynamoDB store's describe.
func (it *memItem) describe() string {
	if it == nil {
		return "no claim"
	}
	switch it.status {
	case statusCompleted:
		return fmt.Sprintf("completed by %q at %s", it.owner, time.UnixMilli(it.updated).UTC().Format(timeLayout))
	case statusInProgress:
		return fmt.Sprintf("claimed by %q until %s", it.owner, time.UnixMilli(it.lease).UTC().Format(timeLayout))
	default:
		return fmt.Sprintf("status %q, owner %q", it.status, it.owner)
	}
}

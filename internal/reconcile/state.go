package reconcile

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"time"
)

// ErrConflict reports, from StateStore.Save, that another pass saved the
// state since this one loaded it.
var ErrConflict = errors.New("reconcile: the state was saved by another pass since it was loaded")

// State is what one pass leaves for the next: where to resume listing, and
// the events that are not done yet. Together they make the watermark.
type State struct {
	// Resume is where the next pass continues listing: every event created
	// before Resume.Created, and those created in that second whose ids are
	// in Resume.IDs, have been run through the pipeline by a pass.
	Resume Position
	// Pending are the events a pass ran that are not done (their method
	// failed, or another run held them), oldest first. Every pass runs them
	// again, until they are done or 30 days old (lost).
	Pending []Pending
	// Version counts the saves: Save writes only over the version Load
	// returned. Zero means no pass has saved a state yet.
	Version int64
	// Updated is when the state was saved.
	Updated time.Time
}

// Position is a place in the oldest-first order of events.
type Position struct {
	// Created is a creation time, in Unix seconds (Stripe's resolution).
	Created int64
	// IDs are the events created in that second that are already behind
	// the position.
	IDs []string
}

// Pending is an event that is not done.
type Pending struct {
	ID, Type string
	// Created is the event's creation time, in Unix seconds.
	Created int64
}

// Watermark is the time before which every event the reconciler looks for
// is done (completed, or had nothing to run) or was reported lost: the
// older of Resume and the oldest pending event. A failed or in-progress
// event holds it back until it is done.
func (s *State) Watermark() time.Time {
	w := s.Resume.Created
	for _, p := range s.Pending {
		w = min(w, p.Created)
	}
	return time.Unix(w, 0).UTC()
}

// sortPending orders the pending events oldest first (by id within a
// second, so that saves are deterministic).
func (s *State) sortPending() {
	slices.SortStableFunc(s.Pending, func(a, b Pending) int {
		return cmp.Or(cmp.Compare(a.Created, b.Created), cmp.Compare(a.ID, b.ID))
	})
}

// StateStore keeps the State between passes, in the dedup table.
type StateStore interface {
	// Load returns the saved state, or the zero State (Version 0) if none
	// was saved.
	Load(ctx context.Context) (State, error)
	// Save writes s if the stored state is still the version s was loaded
	// at (s.Version), and then increments s.Version; otherwise it returns
	// an error wrapping ErrConflict and writes nothing.
	Save(ctx context.Context, s *State) error
}

// Package stripeevents reads events back from Stripe's Events API, which
// keeps every event for 30 days, whether or not a webhook delivery of it
// succeeded: one by id, or all those created within a time window, of
// given types, oldest first. Replay and reconcile feed what it reads into
// the same pipeline as webhook deliveries.
package stripeevents

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
)

// Retention is how long Stripe keeps events in its Events API.
const Retention = 30 * 24 * time.Hour

// MaxTypesPerRequest is how many exact types one list request filters on:
// Stripe's limit for types[].
const MaxTypesPerRequest = 20

// DefaultChunk is how much of a window Each lists at a time: the events of
// one chunk are held in memory to be sorted oldest first.
const DefaultChunk = time.Hour

// pageSize is the number of events per list request (Stripe's maximum).
const pageSize = 100

// ErrType reports a type filter that is neither an event type nor a prefix
// pattern such as "invoice.*".
var ErrType = errors.New("not an event type or a type prefix ending in .*")

// Client reads events through a stripe-go client.
type Client struct {
	api   *client.API
	chunk time.Duration
}

// New returns a Client reading through api, listing a window DefaultChunk
// at a time.
func New(api *client.API) *Client {
	return &Client{api: api, chunk: DefaultChunk}
}

// WithChunk returns a copy of c listing chunk at a time.
func (c *Client) WithChunk(chunk time.Duration) *Client {
	cp := *c
	cp.chunk = max(chunk, time.Second)
	return &cp
}

// Get fetches the event with the given id.
func (c *Client) Get(ctx context.Context, id string) (*stripe.Event, error) {
	p := &stripe.EventParams{}
	p.Context = ctx
	e, err := c.api.Events.Get(id, p)
	if err != nil {
		return nil, fmt.Errorf("stripeevents: fetching %s: %w", id, err)
	}
	return e, nil
}

// Query selects events by creation time and type.
type Query struct {
	// From and To bound the events' creation times, both included; Stripe
	// keeps them in whole seconds. To zero means now.
	From, To time.Time
	// Types are exact event types ("invoice.paid") or prefixes ending in
	// ".*" ("invoice.*"); none means every type.
	Types []string
}

// Each calls fn for every event q selects, oldest first: by creation time,
// and events created in the same second in the order Stripe created them.
// It lists the window a chunk at a time, each chunk with as few requests as
// the types allow (exact types twenty to a request, each prefix on its
// own), and stops at the first error of fn, of Stripe, or of ctx.
func (c *Client) Each(ctx context.Context, q Query, fn func(*stripe.Event) error) error {
	exact, patterns, err := splitTypes(q.Types)
	if err != nil {
		return err
	}
	to := q.To
	if to.IsZero() {
		to = time.Now()
	}
	from, last := q.From.Unix(), to.Unix()
	step := int64(c.chunk / time.Second)
	for lo := from; lo <= last; lo += step {
		hi := min(lo+step-1, last)
		events, err := c.chunkEvents(ctx, lo, hi, exact, patterns)
		if err != nil {
			return err
		}
		for _, e := range events {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// chunkEvents lists the events created in [lo, hi] (Unix seconds),
// oldest first.
func (c *Client) chunkEvents(ctx context.Context, lo, hi int64, exact, patterns []string) ([]*stripe.Event, error) {
	var filters []func(*stripe.EventListParams)
	for batch := range slices.Chunk(exact, MaxTypesPerRequest) {
		filters = append(filters, func(p *stripe.EventListParams) { p.Types = stripe.StringSlice(batch) })
	}
	for _, pat := range patterns {
		filters = append(filters, func(p *stripe.EventListParams) { p.Type = stripe.String(pat) })
	}
	if len(exact) == 0 && len(patterns) == 0 {
		filters = append(filters, func(*stripe.EventListParams) {})
	}
	var (
		all  []*stripe.Event
		seen = map[string]bool{}
	)
	for _, filter := range filters {
		p := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{GreaterThanOrEqual: lo, LesserThanOrEqual: hi}}
		p.Context = ctx
		p.Limit = stripe.Int64(pageSize)
		filter(p)
		// Stripe lists newest first; reversed, one list is oldest first.
		var page []*stripe.Event
		it := c.api.Events.List(p)
		for it.Next() {
			e := it.Event()
			if !seen[e.ID] { // a type can match an exact filter and a prefix
				seen[e.ID] = true
				page = append(page, e)
			}
		}
		if err := it.Err(); err != nil {
			return nil, fmt.Errorf("stripeevents: listing events created %s to %s: %w",
				time.Unix(lo, 0).UTC().Format(time.RFC3339), time.Unix(hi, 0).UTC().Format(time.RFC3339), err)
		}
		slices.Reverse(page)
		all = append(all, page...)
	}
	// Merge the lists: stable, so each list's order holds within a second.
	slices.SortStableFunc(all, func(a, b *stripe.Event) int { return cmp.Compare(a.Created, b.Created) })
	return all, nil
}

// splitTypes sorts type filters into exact types and prefix patterns.
func splitTypes(types []string) (exact, patterns []string, err error) {
	for _, t := range types {
		switch {
		case strings.HasSuffix(t, ".*") && validType(strings.TrimSuffix(t, ".*")):
			patterns = append(patterns, t)
		case validType(t):
			exact = append(exact, t)
		default:
			return nil, nil, fmt.Errorf("stripeevents: %q: %w", t, ErrType)
		}
	}
	slices.Sort(exact)
	return slices.Compact(exact), patterns, nil
}

// validType reports whether t looks like an event type or its start:
// lower-case words, digits and underscores between dots.
func validType(t string) bool {
	if t == "" || t[0] == '.' || t[len(t)-1] == '.' || strings.Contains(t, "..") {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_') {
			return false
		}
	}
	return true
}

// Match reports whether an event type matches a filter of Query.Types.
func Match(eventType, filter string) bool {
	if prefix, ok := strings.CutSuffix(filter, "*"); ok {
		return strings.HasPrefix(eventType, prefix)
	}
	return eventType == filter
}

package stripeevents

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/fakestripe"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
)

// The Events API here is fakestripe's: stripe-mock's event list has one
// fixture and ignores created, types and cursors.

var base = time.Unix(1_760_000_000, 0)

func newClient(t *testing.T, f *fakestripe.Server) *Client {
	t.Helper()
	return New(stripeclient.New(stripemock.Key, f.URL(), nil, nil))
}

// fill adds n events, one per 7 seconds from base, cycling through types;
// every fifth is created in the same second as the one before.
func fill(t *testing.T, f *fakestripe.Server, n int, types ...string) []string {
	var ids []string
	created := base.Unix()
	for i := range n {
		if i%5 != 4 {
			created += 7
		}
		id := fmt.Sprintf("evt_%04d", i)
		f.Add(t, fakestripe.Event(id, types[i%len(types)], created, `{"id":"obj","object":"charge"}`))
		ids = append(ids, id)
	}
	return ids
}

func collect(t *testing.T, c *Client, q Query) []*stripe.Event {
	t.Helper()
	var got []*stripe.Event
	if err := c.Each(context.Background(), q, func(e *stripe.Event) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func ids(es []*stripe.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestEachOldestFirst(t *testing.T) {
	f := fakestripe.Start(t)
	all := fill(t, f, 250, "charge.succeeded", "invoice.paid", "invoice.payment_failed", "customer.created")
	c := newClient(t, f).WithChunk(10 * time.Minute) // several chunks, several pages each
	to := base.Add(time.Hour)

	got := collect(t, c, Query{From: base, To: to})
	if !slices.Equal(ids(got), all) {
		t.Fatalf("all types: %d events, out of order or missing:\n%q", len(got), ids(got))
	}
	for i := 1; i < len(got); i++ {
		if got[i].Created < got[i-1].Created {
			t.Fatalf("not oldest first at %d", i)
		}
	}

	var want []string
	for i, id := range all {
		if t := []string{"charge.succeeded", "invoice.paid", "invoice.payment_failed", "customer.created"}[i%4]; strings.HasPrefix(t, "invoice.") || t == "charge.succeeded" {
			want = append(want, id)
		}
	}
	got = collect(t, c, Query{From: base, To: to, Types: []string{"invoice.*", "charge.succeeded", "invoice.paid"}})
	if !slices.Equal(ids(got), want) {
		t.Fatalf("filtered: got %d, want %d events", len(got), len(want))
	}

	// A window: only what was created within it, bounds included.
	from, until := all[10], all[20]
	var fromT, untilT int64
	for _, e := range collect(t, c, Query{From: base, To: to}) {
		switch e.ID {
		case from:
			fromT = e.Created
		case until:
			untilT = e.Created
		}
	}
	got = collect(t, c, Query{From: time.Unix(fromT, 0), To: time.Unix(untilT, 0)})
	for _, e := range got {
		if e.Created < fromT || e.Created > untilT {
			t.Fatalf("%s created %d outside [%d, %d]", e.ID, e.Created, fromT, untilT)
		}
	}
	if !slices.Contains(ids(got), from) || !slices.Contains(ids(got), until) {
		t.Fatalf("bounds not included: %q", ids(got))
	}
}

func TestEachManyTypes(t *testing.T) {
	f := fakestripe.Start(t)
	var types []string
	for i := range 45 {
		types = append(types, fmt.Sprintf("test.type_%02d", i))
	}
	all := fill(t, f, 90, types...)
	c := newClient(t, f)
	got := collect(t, c, Query{From: base, To: base.Add(time.Hour - time.Second), Types: types}) // one chunk
	if !slices.Equal(ids(got), all) {
		t.Fatalf("45 types: %d of %d events", len(got), len(all))
	}
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, "GET /v1/events?") {
			n++
			if c := strings.Count(r, "types["); c > MaxTypesPerRequest {
				t.Fatalf("a request with %d types: %s", c, r)
			}
		}
	}
	if n != 3 {
		t.Errorf("%d list requests for 45 types in one chunk, want 3: %q", n, f.Requests())
	}
}

func TestEachStops(t *testing.T) {
	f := fakestripe.Start(t)
	fill(t, f, 30, "charge.succeeded")
	c := newClient(t, f)
	stop := errors.New("enough")
	n := 0
	err := c.Each(context.Background(), Query{From: base, To: base.Add(time.Hour)}, func(*stripe.Event) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("err %v after %d", err, n)
	}
	if err := c.Each(context.Background(), Query{Types: []string{"Invoice.Paid"}}, nil); !errors.Is(err, ErrType) {
		t.Fatalf("bad type: %v", err)
	}
	f.SetDown(true)
	if err := c.Each(context.Background(), Query{From: base, To: base.Add(time.Hour)}, func(*stripe.Event) error { return nil }); err == nil {
		t.Fatal("no error while Stripe is down")
	}
}

func TestGet(t *testing.T) {
	f := fakestripe.Start(t)
	fill(t, f, 3, "invoice.paid")
	c := newClient(t, f)
	e, err := c.Get(context.Background(), "evt_0001")
	if err != nil || e.ID != "evt_0001" || e.Type != "invoice.paid" || string(e.Data.Raw) == "" {
		t.Fatalf("%+v %v", e, err)
	}
	if _, err := c.Get(context.Background(), "evt_missing"); err == nil || !strings.Contains(err.Error(), "evt_missing") {
		t.Fatalf("missing event: %v", err)
	}
}

func TestMatch(t *testing.T) {
	for _, tt := range []struct {
		typ, filter string
		want        bool
	}{
		{"invoice.paid", "invoice.paid", true},
		{"invoice.paid", "invoice.*", true},
		{"invoiceitem.created", "invoice.*", false},
		{"charge.succeeded", "invoice.*", false},
		{"invoice.paid", "invoice.payment_failed", false},
	} {
		if got := Match(tt.typ, tt.filter); got != tt.want {
			t.Errorf("Match(%q, %q) = %v", tt.typ, tt.filter, got)
		}
	}
}

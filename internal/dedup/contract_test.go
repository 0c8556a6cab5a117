package dedup

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The contract tests: every Store (and Marks) implementation of this
// package is held to the same behaviour, with the same records. Each test
// runs once per implementation (eachStore): the DynamoDB store on a
// moto_server table, and the memory store.

// contractStore is what every implementation is.
type contractStore interface {
	Store
	Marks
}

// subject is one implementation under test.
type subject struct {
	// open returns a store with the clock now (nil: time.Now) and the
	// default retention.
	open func(t *testing.T, now func() time.Time) contractStore
	// record returns the record of id in s (opened by open) as the
	// DynamoDB store's item attributes, numbers in decimal; nil when there
	// is none.
	record func(t *testing.T, s contractStore, id string) map[string]string
	// dynamo is set for the DynamoDB store, whose tests go further.
	dynamo *testEnv
}

// eachStore runs f against each implementation, as subtests named after it.
func eachStore(t *testing.T, f func(t *testing.T, sub *subject)) {
	t.Run("DynamoDB", func(t *testing.T) {
		e := newTestEnv(t)
		f(t, &subject{
			open: func(t *testing.T, now func() time.Time) contractStore {
				return e.store(t, Options{Now: now})
			},
			record: func(t *testing.T, _ contractStore, id string) map[string]string {
				return itemAttributes(t, e.item(t, id))
			},
			dynamo: e,
		})
	})
	t.Run("Memory", func(t *testing.T) {
		f(t, &subject{
			open: func(t *testing.T, now func() time.Time) contractStore {
				return NewMemory(Options{Now: now})
			},
			record: func(t *testing.T, s contractStore, id string) map[string]string {
				return s.(*Memory).record(id)
			},
		})
	})
}

// itemAttributes returns a DynamoDB item's attributes as strings.
func itemAttributes(t *testing.T, item map[string]types.AttributeValue) map[string]string {
	t.Helper()
	if item == nil {
		return nil
	}
	got := make(map[string]string)
	for name, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			got[name] = v.Value
		case *types.AttributeValueMemberN:
			got[name] = v.Value
		default:
			t.Errorf("attribute %s has type %T", name, v)
		}
	}
	return got
}

// record returns id's record as the DynamoDB store's item attributes.
func (s *Memory) record(id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	if it == nil {
		return nil
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	r := map[string]string{attrID: id, attrUpdated: n(it.updated), attrExpires: n(it.expires)}
	if it.hasLease { // a claim's record
		r[attrStatus], r[attrOwner], r[attrKind], r[attrLease] = it.status, it.owner, it.kind, n(it.lease)
	}
	if it.hasMark {
		r[attrMark] = n(it.mark)
	}
	return r
}

// clock is a settable clock for the stores' Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(now time.Time) *clock { return &clock{now: now} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sentinels are the package's errors, to check that an error wraps exactly
// the expected one.
var sentinels = []error{ErrCompleted, ErrInProgress, ErrNotOwner, ErrUnavailable}

// checkErr reports whether err wraps want (nil: err is nil) and no other
// sentinel.
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Errorf("%s: got %v, want nil", what, err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Errorf("%s: got %v, want %v", what, err, want)
		return
	}
	for _, s := range sentinels {
		if s != want && errors.Is(err, s) {
			t.Errorf("%s: %v wraps %v as well as %v", what, err, s, want)
		}
	}
}

// TestClaimCompleteItem checks the record of a claim and of its
// completion, attribute by attribute.
func TestClaimCompleteItem(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		ctx := t.Context()
		start := time.UnixMilli(time.Now().UnixMilli()) // whole milliseconds
		clk := newClock(start)
		s := sub.open(t, clk.Now)
		lease := start.Add(30 * time.Second)

		if err := s.Claim(ctx, "evt_1", Claim{Owner: "req-a", Kind: "charge.succeeded", Lease: lease}); err != nil {
			t.Fatalf("Claim: %v", err)
		}
		claimed := sub.record(t, s, "evt_1")
		clk.Advance(5 * time.Second)
		if err := s.Complete(ctx, "evt_1", "req-a"); err != nil {
			t.Fatalf("Complete: %v", err)
		}
		completed := sub.record(t, s, "evt_1")
		done := start.Add(5 * time.Second)

		tests := []struct {
			name      string
			got, want map[string]string // attribute: value, numbers in decimal
		}{
			{"claimed", claimed, map[string]string{
				"id":          "evt_1",
				"status":      "IN_PROGRESS",
				"owner":       "req-a",
				"kind":        "charge.succeeded",
				"lease_until": strconv.FormatInt(lease.UnixMilli(), 10),
				"updated":     strconv.FormatInt(start.UnixMilli(), 10),
				"expires":     strconv.FormatInt(lease.Add(DefaultRetention).Unix(), 10),
			}},
			{"completed", completed, map[string]string{
				"id":          "evt_1",
				"status":      "COMPLETED",
				"owner":       "req-a",
				"kind":        "charge.succeeded",
				"lease_until": strconv.FormatInt(lease.UnixMilli(), 10),
				"updated":     strconv.FormatInt(done.UnixMilli(), 10),
				"expires":     strconv.FormatInt(done.Add(DefaultRetention).Unix(), 10),
			}},
		}
		for _, tt := range tests {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("%s record:\n got %v\nwant %v", tt.name, tt.got, tt.want)
			}
		}
		if exp, _ := strconv.ParseInt(completed["expires"], 10, 64); exp < done.Add(31*24*time.Hour).Unix() {
			t.Errorf("completed record expires at %v, less than 31 days after completion", time.Unix(exp, 0))
		}
	})
}

// step is one operation of a lifecycle scenario.
type step struct {
	op    string        // claim, complete, release, or advance (the clock)
	owner string        // claim, complete, release
	d     time.Duration // claim: the lease, from the clock's now; advance: by how much
	want  error         // nil, or the sentinel the error must wrap
}

func TestLifecycle(t *testing.T) {
	const minute = time.Minute
	tests := []struct {
		name  string
		steps []step
	}{
		{"fresh claim", []step{
			{"claim", "a", minute, nil},
		}},
		{"claim while another lease is live", []step{
			{"claim", "a", minute, nil},
			{"claim", "b", minute, ErrInProgress},
		}},
		// The SDK retrying a claim whose response was lost finds its own
		// item: that is the owner's claim, not a conflict.
		{"same owner claims again while live", []step{
			{"claim", "a", minute, nil},
			{"claim", "a", minute, nil},
			{"claim", "b", minute, ErrInProgress},
			{"complete", "a", 0, nil},
		}},
		{"claim after completion", []step{
			{"claim", "a", minute, nil},
			{"complete", "a", 0, nil},
			{"claim", "b", minute, ErrCompleted},
			{"claim", "a", minute, ErrCompleted},
		}},
		{"complete twice", []step{
			{"claim", "a", minute, nil},
			{"complete", "a", 0, nil},
			{"complete", "a", 0, ErrNotOwner},
		}},
		{"release then claim again", []step{
			{"claim", "a", minute, nil},
			{"release", "a", 0, nil},
			{"claim", "b", minute, nil},
			{"complete", "b", 0, nil},
		}},
		{"release by a non-owner", []step{
			{"claim", "a", minute, nil},
			{"release", "b", 0, ErrNotOwner},
			{"claim", "b", minute, ErrInProgress},
			{"complete", "a", 0, nil},
		}},
		{"complete by a non-owner", []step{
			{"claim", "a", minute, nil},
			{"complete", "b", 0, ErrNotOwner},
			{"claim", "c", minute, ErrInProgress},
			{"release", "a", 0, nil},
		}},
		{"complete without a claim", []step{
			{"complete", "a", 0, ErrNotOwner},
		}},
		{"release without a claim", []step{
			{"release", "a", 0, ErrNotOwner},
		}},
		{"release after completion", []step{
			{"claim", "a", minute, nil},
			{"complete", "a", 0, nil},
			{"release", "a", 0, ErrNotOwner},
			{"claim", "b", minute, ErrCompleted},
		}},
		{"lease in the past is taken over", []step{
			{"claim", "a", -time.Second, nil},
			{"claim", "b", minute, nil},
			{"complete", "a", 0, ErrNotOwner},
			{"release", "a", 0, ErrNotOwner},
			{"complete", "b", 0, nil},
		}},
		{"lease expiry is taken over", []step{
			{"claim", "a", minute, nil},
			{"advance", "", minute + time.Millisecond, nil},
			{"claim", "b", minute, nil},
			{"complete", "a", 0, ErrNotOwner},
			{"claim", "a", minute, ErrInProgress},
		}},
		{"lease is live up to its end", []step{
			{"claim", "a", minute, nil},
			{"advance", "", minute, nil},
			{"claim", "b", minute, ErrInProgress},
		}},
		{"owner completes after its lease if nobody took over", []step{
			{"claim", "a", minute, nil},
			{"advance", "", 2 * minute, nil},
			{"complete", "a", 0, nil},
			{"claim", "b", minute, ErrCompleted},
		}},
		{"completion remembered within retention", []step{
			{"claim", "a", minute, nil},
			{"complete", "a", 0, nil},
			{"advance", "", DefaultRetention - time.Second, nil},
			{"claim", "b", minute, ErrCompleted},
		}},
		{"completion forgotten after retention", []step{
			{"claim", "a", minute, nil},
			{"complete", "a", 0, nil},
			{"advance", "", DefaultRetention + time.Second, nil},
			{"claim", "b", minute, nil},
		}},
	}
	eachStore(t, func(t *testing.T, sub *subject) {
		ctx := t.Context()
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := fmt.Sprintf("evt_lifecycle_%d", i)
				clk := newClock(time.Now())
				s := sub.open(t, clk.Now)
				for j, st := range tt.steps {
					before := sub.record(t, s, id)
					var err error
					switch st.op {
					case "claim":
						err = s.Claim(ctx, id, Claim{Owner: st.owner, Kind: "test", Lease: clk.Now().Add(st.d)})
					case "complete":
						err = s.Complete(ctx, id, st.owner)
					case "release":
						err = s.Release(ctx, id, st.owner)
					case "advance":
						clk.Advance(st.d)
						continue
					default:
						t.Fatalf("bad op %q", st.op)
					}
					what := fmt.Sprintf("step %d: %s by %s", j, st.op, st.owner)
					checkErr(t, what, err, st.want)
					if err != nil {
						if after := sub.record(t, s, id); !reflect.DeepEqual(after, before) {
							t.Errorf("%s failed but changed the record:\n before %v\n  after %v", what, before, after)
						}
					}
					if st.op == "release" && err == nil {
						if after := sub.record(t, s, id); after != nil {
							t.Errorf("%s: record still there: %v", what, after)
						}
					}
				}
			})
		}
	})
}

func TestErrorDetails(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		ctx := t.Context()
		s := sub.open(t, nil)
		lease := time.Now().Add(time.Minute)
		if err := s.Claim(ctx, "evt_busy", Claim{Owner: "req-a", Lease: lease}); err != nil {
			t.Fatal(err)
		}
		if err := s.Claim(ctx, "evt_done", Claim{Owner: "req-c", Lease: lease}); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, "evt_done", "req-c"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			err  error
			want []string // substrings of the message
		}{
			{"in progress", s.Claim(ctx, "evt_busy", Claim{Owner: "req-b", Lease: lease}),
				[]string{`"evt_busy"`, `claimed by "req-a" until ` + lease.UTC().Format(timeLayout)}},
			{"completed", s.Claim(ctx, "evt_done", Claim{Owner: "req-b", Lease: lease}),
				[]string{`"evt_done"`, `completed by "req-c"`}},
			{"not owner", s.Complete(ctx, "evt_busy", "req-b"),
				[]string{`complete "evt_busy" by "req-b"`, `claimed by "req-a"`}},
			{"no claim", s.Release(ctx, "evt_none", "req-b"),
				[]string{`release "evt_none" by "req-b"`, "no claim"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.err == nil {
					t.Fatal("no error")
				}
				for _, w := range tt.want {
					if !strings.Contains(tt.err.Error(), w) {
						t.Errorf("error %q does not contain %q", tt.err, w)
					}
				}
			})
		}
	})
}

// TestExpiredCompletedItem checks that a completed record past its expiry
// counts as absent although it is still there (DynamoDB, like moto,
// deletes expired items lazily).
func TestExpiredCompletedItem(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		ctx := t.Context()
		// Completed a day more than the retention ago: its expiry is a day
		// past.
		clk := newClock(time.Now().Add(-DefaultRetention - 24*time.Hour))
		s := sub.open(t, clk.Now)
		if err := s.Claim(ctx, "evt_old", Claim{Owner: "req-a", Lease: clk.Now().Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := s.Complete(ctx, "evt_old", "req-a"); err != nil {
			t.Fatal(err)
		}
		clk.Advance(DefaultRetention + 24*time.Hour)
		if r := sub.record(t, s, "evt_old"); r["status"] != "COMPLETED" {
			t.Fatalf("expired record not kept as COMPLETED: %v", r)
		}
		if err := s.Claim(ctx, "evt_old", Claim{Owner: "req-b", Lease: clk.Now().Add(time.Minute)}); err != nil {
			t.Fatalf("Claim of an expired completed id: %v", err)
		}
		if got := sub.record(t, s, "evt_old")["owner"]; got != "req-b" {
			t.Errorf("owner %q, want req-b", got)
		}
	})
}

func TestConcurrentClaims(t *testing.T) {
	const n = 50
	eachStore(t, func(t *testing.T, sub *subject) {
		s := sub.open(t, nil)
		ctx := t.Context()
		lease := time.Now().Add(time.Minute)
		errs := make([]error, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = s.Claim(ctx, "evt_race", Claim{Owner: fmt.Sprintf("req-%d", i), Lease: lease})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Errorf("claims %d and %d both succeeded", winner, i)
				}
				winner = i
			case !errors.Is(err, ErrInProgress):
				t.Errorf("claim %d: %v, want ErrInProgress", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no claim succeeded")
		}
		if got, want := sub.record(t, s, "evt_race")["owner"], fmt.Sprintf("req-%d", winner); got != want {
			t.Errorf("record owner %q, want the winner %q", got, want)
		}
	})
}

func TestInvalidArguments(t *testing.T) {
	stores := map[string]Store{
		"DynamoDB": NewDynamoDB(nil, "unused", Options{}), // never reaches DynamoDB
		"Memory":   NewMemory(Options{}),
	}
	ctx := context.Background()
	lease := time.Now().Add(time.Minute)
	for name, s := range stores {
		t.Run(name, func(t *testing.T) {
			tests := []struct {
				name string
				err  error
			}{
				{"claim: empty id", s.Claim(ctx, "", Claim{Owner: "a", Lease: lease})},
				{"claim: empty owner", s.Claim(ctx, "evt_1", Claim{Lease: lease})},
				{"claim: no lease", s.Claim(ctx, "evt_1", Claim{Owner: "a"})},
				{"complete: empty id", s.Complete(ctx, "", "a")},
				{"complete: empty owner", s.Complete(ctx, "evt_1", "")},
				{"release: empty id", s.Release(ctx, "", "a")},
				{"release: empty owner", s.Release(ctx, "evt_1", "")},
				{"extend: empty id", s.Extend(ctx, "", "a", lease)},
				{"extend: empty owner", s.Extend(ctx, "evt_1", "", lease)},
				{"extend: no lease", s.Extend(ctx, "evt_1", "a", time.Time{})},
				{"raise: empty key", s.(Marks).Raise(ctx, "", 1)},
			}
			for _, tt := range tests {
				if tt.err == nil {
					t.Errorf("%s: no error", tt.name)
					continue
				}
				for _, s := range sentinels {
					if errors.Is(tt.err, s) {
						t.Errorf("%s: %v wraps %v", tt.name, tt.err, s)
					}
				}
			}
			if _, _, err := s.(Marks).Mark(ctx, ""); err == nil {
				t.Errorf("mark: empty key: no error")
			}
		})
	}
}

func TestRetention(t *testing.T) {
	tests := []struct {
		in, want  time.Duration
		wantPanic bool
	}{
		{0, DefaultRetention, false},
		{-time.Hour, DefaultRetention, false},
		{MinRetention, MinRetention, false},
		{40 * 24 * time.Hour, 40 * 24 * time.Hour, false},
		{30 * 24 * time.Hour, 0, true}, // a resend on day 30 must still be a duplicate
		{MinRetention - time.Second, 0, true},
		{time.Hour, 0, true},
	}
	constructors := map[string]func(time.Duration) time.Duration{
		"DynamoDB": func(r time.Duration) time.Duration {
			return NewDynamoDB(nil, "t", Options{Retention: r}).opts.Retention
		},
		"Memory": func(r time.Duration) time.Duration {
			return NewMemory(Options{Retention: r}).opts.Retention
		},
	}
	for name, retention := range constructors {
		for _, tt := range tests {
			func() {
				defer func() {
					if r := recover(); (r != nil) != tt.wantPanic {
						t.Errorf("%s: Retention %v: panic %v, want panic %v", name, tt.in, r, tt.wantPanic)
					}
				}()
				if got := retention(tt.in); got != tt.want {
					t.Errorf("%s: Retention %v: got %v, want %v", name, tt.in, got, tt.want)
				}
			}()
		}
	}
}

// TestExtend checks that a live run keeps its claim past the first lease by
// extending it, and that only the holder of an in-progress claim can.
func TestExtend(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		clk := newClock(time.Now())
		s := sub.open(t, clk.Now)
		ctx := t.Context()
		lease := clk.Now().Add(10 * time.Second)
		checkErr(t, "claim", s.Claim(ctx, "evt_x", Claim{Owner: "run-a", Lease: lease}), nil)

		// Past the first lease, but extended before it: still run-a's.
		checkErr(t, "extend", s.Extend(ctx, "evt_x", "run-a", lease.Add(20*time.Second)), nil)
		clk.Advance(15 * time.Second)
		checkErr(t, "claim after the first lease", s.Claim(ctx, "evt_x", Claim{Owner: "run-b", Lease: clk.Now().Add(time.Minute)}), ErrInProgress)
		r := sub.record(t, s, "evt_x")
		if want := strconv.FormatInt(lease.Add(20*time.Second).UnixMilli(), 10); r["lease_until"] != want {
			t.Errorf("lease_until %s, want the extended lease %s", r["lease_until"], want)
		}
		if want := strconv.FormatInt(lease.Add(20*time.Second).Add(DefaultRetention).Unix(), 10); r["expires"] != want {
			t.Errorf("expires %s, want a retention after the extended lease, %s", r["expires"], want)
		}
		checkErr(t, "extend by another owner", s.Extend(ctx, "evt_x", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)

		// Not extended again: it lapses, is taken over, and the old owner
		// can no longer extend it.
		clk.Advance(20 * time.Second)
		checkErr(t, "takeover", s.Claim(ctx, "evt_x", Claim{Owner: "run-b", Lease: clk.Now().Add(time.Minute)}), nil)
		checkErr(t, "extend by the old owner", s.Extend(ctx, "evt_x", "run-a", clk.Now().Add(time.Hour)), ErrNotOwner)

		// A completed claim cannot be extended.
		checkErr(t, "complete", s.Complete(ctx, "evt_x", "run-b"), nil)
		checkErr(t, "extend completed", s.Extend(ctx, "evt_x", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)
		checkErr(t, "extend missing", s.Extend(ctx, "evt_none", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)
	})
}

// TestForceClaim checks that a forced claim takes a completed id, and
// still not a live claim.
func TestForceClaim(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		s := sub.open(t, nil)
		ctx := t.Context()
		lease := time.Now().Add(time.Minute)
		checkErr(t, "claim", s.Claim(ctx, "evt_f", Claim{Owner: "a", Lease: lease}), nil)
		checkErr(t, "forced claim of a live claim", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease, Force: true}), ErrInProgress)
		checkErr(t, "complete", s.Complete(ctx, "evt_f", "a"), nil)
		checkErr(t, "claim of a completed id", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease}), ErrCompleted)
		checkErr(t, "forced claim of a completed id", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease, Force: true}), nil)
		if got := sub.record(t, s, "evt_f"); got["status"] != "IN_PROGRESS" || got["owner"] != "b" {
			t.Errorf("after the forced claim: %v, want b's in-progress claim", got)
		}
		checkErr(t, "complete again", s.Complete(ctx, "evt_f", "b"), nil)
		checkErr(t, "forced claim of a new id", s.Claim(ctx, "evt_g", Claim{Owner: "c", Lease: lease, Force: true}), nil)
	})
}

// TestMarks checks that a mark only ever rises, per key, is apart from the
// claims, and is forgotten a retention after its last raise.
func TestMarks(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		clk := newClock(time.Now())
		s := sub.open(t, clk.Now)
		ctx := t.Context()
		if _, ok, err := s.Mark(ctx, "object#sub_1"); ok || err != nil {
			t.Fatalf("no mark yet: %v %v", ok, err)
		}
		steps := []struct {
			raise, want int64
		}{{100, 100}, {90, 100}, {100, 100}, {150, 150}, {120, 150}}
		for _, st := range steps {
			if err := s.Raise(ctx, "object#sub_1", st.raise); err != nil {
				t.Fatal(err)
			}
			if v, ok, err := s.Mark(ctx, "object#sub_1"); !ok || err != nil || v != st.want {
				t.Fatalf("after raising %d: %d %v %v, want %d", st.raise, v, ok, err, st.want)
			}
		}
		want := map[string]string{
			"id":      "mark#object#sub_1",
			"mark":    "150",
			"updated": strconv.FormatInt(clk.Now().UnixMilli(), 10),
			"expires": strconv.FormatInt(clk.Now().Add(DefaultRetention).Unix(), 10),
		}
		if got := sub.record(t, s, "mark#object#sub_1"); !reflect.DeepEqual(got, want) {
			t.Errorf("mark record:\n got %v\nwant %v", got, want)
		}
		if _, ok, _ := s.Mark(ctx, "object#sub_2"); ok {
			t.Fatal("marks of two keys are one")
		}
		// A claim of the same name is another record.
		checkErr(t, "claim", s.Claim(ctx, "object#sub_1", Claim{Owner: "a", Lease: clk.Now().Add(time.Minute)}), nil)
		if v, _, _ := s.Mark(ctx, "object#sub_1"); v != 150 {
			t.Fatalf("a claim changed the mark: %d", v)
		}
		// Forgotten a retention after the last raise.
		clk.Advance(DefaultRetention - time.Minute)
		if v, ok, err := s.Mark(ctx, "object#sub_1"); !ok || err != nil || v != 150 {
			t.Fatalf("within the retention: %d %v %v, want 150", v, ok, err)
		}
		clk.Advance(2 * time.Minute)
		if v, ok, err := s.Mark(ctx, "object#sub_1"); ok || err != nil {
			t.Fatalf("after the retention: %d %v %v, want no mark", v, ok, err)
		}
	})
}

// TestEndedContext checks that an operation whose context has ended
// fails as the store being unavailable, and changes nothing.
func TestEndedContext(t *testing.T) {
	eachStore(t, func(t *testing.T, sub *subject) {
		s := sub.open(t, nil)
		lease := time.Now().Add(time.Minute)
		if err := s.Claim(t.Context(), "evt_live", Claim{Owner: "a", Lease: lease}); err != nil {
			t.Fatal(err)
		}
		before := sub.record(t, s, "evt_live")
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		ops := map[string]error{
			"claim":    s.Claim(ctx, "evt_new", Claim{Owner: "a", Lease: lease}),
			"complete": s.Complete(ctx, "evt_live", "a"),
			"extend":   s.Extend(ctx, "evt_live", "a", lease.Add(time.Minute)),
			"release":  s.Release(ctx, "evt_live", "a"),
			"raise":    s.Raise(ctx, "object#x", 1),
		}
		_, _, ops["mark"] = s.Mark(ctx, "object#x")
		for op, err := range ops {
			checkErr(t, op, err, ErrUnavailable)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: cause lost: %v", op, err)
			}
		}
		if got := sub.record(t, s, "evt_live"); !reflect.DeepEqual(got, before) {
			t.Errorf("the claim changed:\n before %v\n  after %v", before, got)
		}
		if got := sub.record(t, s, "evt_new"); got != nil {
			t.Errorf("a claim was made: %v", got)
		}
		if got := sub.record(t, s, "mark#object#x"); got != nil {
			t.Errorf("a mark was raised: %v", got)
		}
	})
}

package dedup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"stripetask/internal/moto"
)

// testEnv is a moto server with one table, and a plain client to inspect it.
type testEnv struct {
	srv    *moto.Server
	client *dynamodb.Client
	table  string
}

// newTestEnv starts moto, points the SDK at it and creates a table.
func newTestEnv(tb testing.TB) *testEnv {
	tb.Helper()
	srv := moto.Start(tb)
	srv.Env(tb)
	cfg, err := config.LoadDefaultConfig(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	e := &testEnv{srv: srv, client: dynamodb.NewFromConfig(cfg), table: "dedup"}
	e.createTable(tb)
	return e
}

// createTable creates the table as it is deployed (CreateTable).
func (e *testEnv) createTable(tb testing.TB) {
	tb.Helper()
	if err := CreateTable(tb.Context(), e.client, e.table); err != nil {
		tb.Fatal(err)
	}
}

// store returns a store on the table, configured from the environment as in
// Lambda.
func (e *testEnv) store(tb testing.TB, opts DynamoDBOptions) *DynamoDB {
	tb.Helper()
	s, err := DynamoDBFromConfig(tb.Context(), e.table, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// item reads id's item with a consistent read; nil if there is none.
func (e *testEnv) item(t *testing.T, id string) map[string]types.AttributeValue {
	t.Helper()
	out, err := e.client.GetItem(t.Context(), &dynamodb.GetItemInput{
		TableName:      aws.String(e.table),
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem %q: %v", id, err)
	}
	return out.Item
}

// clock is a settable clock for DynamoDBOptions.Now.
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

func TestClaimCompleteItem(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	start := time.UnixMilli(time.Now().UnixMilli()) // whole milliseconds
	clk := newClock(start)
	s := e.store(t, DynamoDBOptions{Now: clk.Now})
	lease := start.Add(30 * time.Second)

	if err := s.Claim(ctx, "evt_1", Claim{Owner: "req-a", Kind: "charge.succeeded", Lease: lease}); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	claimed := e.item(t, "evt_1")
	clk.Advance(5 * time.Second)
	if err := s.Complete(ctx, "evt_1", "req-a"); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	completed := e.item(t, "evt_1")
	done := start.Add(5 * time.Second)

	tests := []struct {
		name string
		item map[string]types.AttributeValue
		want map[string]string // attribute: value, numbers in decimal
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
		t.Run(tt.name, func(t *testing.T) {
			got := make(map[string]string)
			for name, v := range tt.item {
				switch v := v.(type) {
				case *types.AttributeValueMemberS:
					got[name] = v.Value
				case *types.AttributeValueMemberN:
					got[name] = v.Value
				default:
					t.Errorf("attribute %s has type %T", name, v)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("item:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	if exp, _ := attrNumber(completed, "expires"); exp < done.Add(31*24*time.Hour).Unix() {
		t.Errorf("completed item expires at %v, less than 31 days after completion", time.Unix(exp, 0))
	}
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
	e := newTestEnv(t)
	ctx := t.Context()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := fmt.Sprintf("evt_lifecycle_%d", i)
			clk := newClock(time.Now())
			s := e.store(t, DynamoDBOptions{Now: clk.Now})
			for j, st := range tt.steps {
				before := e.item(t, id)
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
					if after := e.item(t, id); !reflect.DeepEqual(after, before) {
						t.Errorf("%s failed but changed the item:\n before %v\n  after %v", what, before, after)
					}
				}
				if st.op == "release" && err == nil {
					if after := e.item(t, id); after != nil {
						t.Errorf("%s: item still there: %v", what, after)
					}
				}
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	s := e.store(t, DynamoDBOptions{})
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
}

func TestExpiredCompletedItem(t *testing.T) {
	e := newTestEnv(t)
	ctx := t.Context()
	// Complete 5 days ago: the item's expiry is a day past, but DynamoDB
	// (like moto) deletes expired items lazily.
	past := time.Now().Add(-5 * 24 * time.Hour)
	old := e.store(t, DynamoDBOptions{Now: func() time.Time { return past }})
	if err := old.Claim(ctx, "evt_old", Claim{Owner: "req-a", Lease: past.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := old.Complete(ctx, "evt_old", "req-a"); err != nil {
		t.Fatal(err)
	}
	if item := e.item(t, "evt_old"); attrString(item, "status") != "COMPLETED" {
		t.Fatalf("expired item not in the table as COMPLETED: %v", item)
	}
	s := e.store(t, DynamoDBOptions{})
	if err := s.Claim(ctx, "evt_old", Claim{Owner: "req-b", Lease: time.Now().Add(time.Minute)}); err != nil {
		t.Fatalf("Claim of an expired completed id: %v", err)
	}
	if got := attrString(e.item(t, "evt_old"), "owner"); got != "req-b" {
		t.Errorf("owner %q, want req-b", got)
	}
}

func TestConcurrentClaims(t *testing.T) {
	const n = 50
	e := newTestEnv(t)
	s := e.store(t, DynamoDBOptions{})
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
	if got, want := attrString(e.item(t, "evt_race"), "owner"), fmt.Sprintf("req-%d", winner); got != want {
		t.Errorf("item owner %q, want the winner %q", got, want)
	}
}

func TestUnavailable(t *testing.T) {
	const limit = 10 * time.Second // generous: each op should fail well within 1 s
	e := newTestEnv(t)
	s := e.store(t, DynamoDBOptions{})
	ctx := t.Context()
	lease := time.Now().Add(time.Minute)
	ops := []struct {
		name string
		run  func(id string) error
	}{
		{"claim", func(id string) error { return s.Claim(ctx, id, Claim{Owner: "req-a", Lease: lease}) }},
		{"complete", func(id string) error { return s.Complete(ctx, id, "req-a") }},
		{"release", func(id string) error { return s.Release(ctx, id, "req-a") }},
		{"extend", func(id string) error { return s.Extend(ctx, id, "req-a", lease) }},
	}

	e.srv.Down()
	for _, op := range ops {
		t.Run("down/"+op.name, func(t *testing.T) {
			begin := time.Now()
			err := op.run("evt_down")
			if took := time.Since(begin); took > limit {
				t.Errorf("took %v, more than %v", took, limit)
			}
			checkErr(t, op.name, err, ErrUnavailable)
			if _, ok := errors.AsType[*net.OpError](err); !ok {
				t.Errorf("cause lost: %v", err)
			}
			if !strings.Contains(fmt.Sprint(err), `"dedup"`) {
				t.Errorf("error %q does not name the table", err)
			}
		})
	}

	e.srv.Up() // with no data: the table is gone
	e.createTable(t)
	steps := []struct {
		op, id string
	}{
		{"claim", "evt_up1"}, {"complete", "evt_up1"},
		{"claim", "evt_up2"}, {"extend", "evt_up2"}, {"release", "evt_up2"},
	}
	for _, st := range steps {
		for _, op := range ops {
			if op.name == st.op {
				checkErr(t, "up: "+st.op+" "+st.id, op.run(st.id), nil)
			}
		}
	}
}

func TestMissingTable(t *testing.T) {
	e := newTestEnv(t)
	e.table = "no-such-table"
	s := e.store(t, DynamoDBOptions{})
	ctx := t.Context()
	tests := []struct {
		name string
		err  error
	}{
		{"claim", s.Claim(ctx, "evt_1", Claim{Owner: "req-a", Lease: time.Now().Add(time.Minute)})},
		{"complete", s.Complete(ctx, "evt_1", "req-a")},
		{"release", s.Release(ctx, "evt_1", "req-a")},
		{"extend", s.Extend(ctx, "evt_1", "req-a", time.Now().Add(time.Minute))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkErr(t, tt.name, tt.err, ErrUnavailable)
			if _, ok := errors.AsType[*types.ResourceNotFoundException](tt.err); !ok {
				t.Errorf("cause lost: %v", tt.err)
			}
			if !strings.Contains(fmt.Sprint(tt.err), `"no-such-table"`) {
				t.Errorf("error %q does not name the table", tt.err)
			}
		})
	}
}

func TestInvalidArguments(t *testing.T) {
	s := NewDynamoDB(nil, "unused", DynamoDBOptions{}) // never reaches DynamoDB
	ctx := context.Background()
	lease := time.Now().Add(time.Minute)
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
	for _, tt := range tests {
		func() {
			defer func() {
				if r := recover(); (r != nil) != tt.wantPanic {
					t.Errorf("Retention %v: panic %v, want panic %v", tt.in, r, tt.wantPanic)
				}
			}()
			s := NewDynamoDB(nil, "t", DynamoDBOptions{Retention: tt.in})
			if s.opts.Retention != tt.want {
				t.Errorf("Retention %v: got %v, want %v", tt.in, s.opts.Retention, tt.want)
			}
		}()
	}
}

func TestJitteredBackoff(t *testing.T) {
	for attempt := 1; attempt <= 20; attempt++ {
		limit := min(baseBackoff<<min(attempt, 8), maxBackoff)
		for range 100 {
			d, err := jitteredBackoff(attempt, nil)
			if err != nil || d < 0 || d >= limit {
				t.Fatalf("attempt %d: %v, %v; want in [0, %v)", attempt, d, err, limit)
			}
		}
	}
}

// TestSilentServer checks that a DynamoDB that accepts connections but never
// answers (a network black hole, a hung proxy) fails within the time limit.
func TestSilentServer(t *testing.T) {
	const limit = 10 * time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	t.Setenv("AWS_ENDPOINT_URL", "http://"+l.Addr().String())
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	s, err := DynamoDBFromConfig(t.Context(), "dedup", DynamoDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	err = s.Claim(t.Context(), "evt_1", Claim{Owner: "req-a", Lease: time.Now().Add(time.Minute)})
	took := time.Since(begin)
	checkErr(t, "claim", err, ErrUnavailable)
	if took > limit {
		t.Errorf("took %v, more than %v", took, limit)
	}
	t.Logf("failed after %v: %v", took, err)
}

// TestExtend checks that a live run keeps its claim past the first lease by
// extending it, and that only the holder of an in-progress claim can.
func TestExtend(t *testing.T) {
	e := newTestEnv(t)
	clk := newClock(time.Now())
	s := e.store(t, DynamoDBOptions{Now: clk.Now})
	ctx := t.Context()
	lease := clk.Now().Add(10 * time.Second)
	checkErr(t, "claim", s.Claim(ctx, "evt_x", Claim{Owner: "run-a", Lease: lease}), nil)

	// Past the first lease, but extended before it: still run-a's.
	checkErr(t, "extend", s.Extend(ctx, "evt_x", "run-a", lease.Add(20*time.Second)), nil)
	clk.Advance(15 * time.Second)
	checkErr(t, "claim after the first lease", s.Claim(ctx, "evt_x", Claim{Owner: "run-b", Lease: clk.Now().Add(time.Minute)}), ErrInProgress)
	if got, _ := attrNumber(e.item(t, "evt_x"), "lease_until"); got != lease.Add(20*time.Second).UnixMilli() {
		t.Errorf("lease_until %d, want the extended lease", got)
	}
	checkErr(t, "extend by another owner", s.Extend(ctx, "evt_x", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)

	// Not extended again: it lapses, is taken over, and the old owner can
	// no longer extend it.
	clk.Advance(20 * time.Second)
	checkErr(t, "takeover", s.Claim(ctx, "evt_x", Claim{Owner: "run-b", Lease: clk.Now().Add(time.Minute)}), nil)
	checkErr(t, "extend by the old owner", s.Extend(ctx, "evt_x", "run-a", clk.Now().Add(time.Hour)), ErrNotOwner)

	// A completed claim cannot be extended.
	checkErr(t, "complete", s.Complete(ctx, "evt_x", "run-b"), nil)
	checkErr(t, "extend completed", s.Extend(ctx, "evt_x", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)
	checkErr(t, "extend missing", s.Extend(ctx, "evt_none", "run-b", clk.Now().Add(time.Hour)), ErrNotOwner)
}

// TestForceClaim checks that a forced claim takes a completed id, and
// still not a live claim.
func TestForceClaim(t *testing.T) {
	e := newTestEnv(t)
	s := e.store(t, DynamoDBOptions{})
	ctx := t.Context()
	lease := time.Now().Add(time.Minute)
	checkErr(t, "claim", s.Claim(ctx, "evt_f", Claim{Owner: "a", Lease: lease}), nil)
	checkErr(t, "forced claim of a live claim", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease, Force: true}), ErrInProgress)
	checkErr(t, "complete", s.Complete(ctx, "evt_f", "a"), nil)
	checkErr(t, "claim of a completed id", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease}), ErrCompleted)
	checkErr(t, "forced claim of a completed id", s.Claim(ctx, "evt_f", Claim{Owner: "b", Lease: lease, Force: true}), nil)
	checkErr(t, "complete again", s.Complete(ctx, "evt_f", "b"), nil)
	checkErr(t, "forced claim of a new id", s.Claim(ctx, "evt_g", Claim{Owner: "c", Lease: lease, Force: true}), nil)
}

// TestMarks checks that a mark only ever rises, per key, and is apart from
// the claims.
func TestMarks(t *testing.T) {
	e := newTestEnv(t)
	s := e.store(t, DynamoDBOptions{})
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
	if _, ok, _ := s.Mark(ctx, "object#sub_2"); ok {
		t.Fatal("marks of two keys are one")
	}
	// A claim of the same name is another item.
	checkErr(t, "claim", s.Claim(ctx, "object#sub_1", Claim{Owner: "a", Lease: time.Now().Add(time.Minute)}), nil)
	if v, _, _ := s.Mark(ctx, "object#sub_1"); v != 150 {
		t.Fatalf("a claim changed the mark: %d", v)
	}
	e.srv.Down()
	if err := s.Raise(ctx, "object#sub_1", 200); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("raise while down: %v", err)
	}
	if _, _, err := s.Mark(ctx, "object#sub_1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("mark while down: %v", err)
	}
}

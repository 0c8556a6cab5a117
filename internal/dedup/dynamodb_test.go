package dedup

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"stripetask/internal/hungserver"
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
	cfg := srv.Config(tb)
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
func (e *testEnv) store(tb testing.TB, opts Options) *DynamoDB {
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

func TestUnavailable(t *testing.T) {
	const limit = 10 * time.Second // generous: each op should fail well within 1 s
	e := newTestEnv(t)
	s := e.store(t, Options{})
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
	s := e.store(t, Options{})
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

// TestSilentServer checks that a DynamoDB that accepts connections but never
// answers (a network black hole, a hung proxy) fails within the time limit.
func TestSilentServer(t *testing.T) {
	const limit = 10 * time.Second
	url, accepted := hungserver.Start(t)
	moto.PointSDK(t, url)
	s, err := DynamoDBFromConfig(t.Context(), "dedup", Options{})
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
	if accepted() == 0 {
		t.Error("the store never connected to the server")
	}
	t.Logf("failed after %v: %v", took, err)
}

// TestMarksUnavailable checks that Raise and Mark report a DynamoDB that
// cannot be reached (the rest of Marks is in the contract tests).
func TestMarksUnavailable(t *testing.T) {
	e := newTestEnv(t)
	s := e.store(t, Options{})
	ctx := t.Context()
	if err := s.Raise(ctx, "object#sub_1", 100); err != nil {
		t.Fatal(err)
	}
	e.srv.Down()
	if err := s.Raise(ctx, "object#sub_1", 200); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("raise while down: %v", err)
	}
	if _, _, err := s.Mark(ctx, "object#sub_1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("mark while down: %v", err)
	}
}

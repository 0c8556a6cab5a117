package reconcile_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"stripetask/internal/dedup"
	"stripetask/internal/reconcile"
)

// TestDynamoDBState: the state round-trips through its item in the dedup
// table; saves are conditioned on the version loaded; the item never
// expires (no TTL attribute) and shows the watermark.
func TestDynamoDBState(t *testing.T) {
	db := startMoto(t)
	ctx := t.Context()
	if err := dedup.CreateTable(ctx, db, "state"); err != nil {
		t.Fatal(err)
	}
	store := reconcile.NewDynamoDBState(db, "state")

	st, err := store.Load(ctx)
	if err != nil || !reflect.DeepEqual(st, reconcile.State{}) {
		t.Fatalf("empty table: %+v %v, want the zero state", st, err)
	}
	st.Resume = reconcile.Position{Created: 1_760_003_000, IDs: []string{"evt_b", "evt_a"}}
	st.Pending = []reconcile.Pending{
		{ID: "evt_2", Type: "invoice.paid", Created: 1_760_002_000},
		{ID: "evt_1", Type: "charge.succeeded", Created: 1_760_001_000},
	}
	if err := store.Save(ctx, &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != 1 || st.Pending[0].ID != "evt_1" {
		t.Errorf("after Save: %+v, want version 1 and pending sorted oldest first", st)
	}
	got, err := store.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Updated.IsZero() {
		t.Error("no update time")
	}
	got.Updated, st.Updated = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, st) {
		t.Errorf("loaded %+v\nsaved  %+v", got, st)
	}
	if want := time.Unix(1_760_001_000, 0).UTC(); !got.Watermark().Equal(want) {
		t.Errorf("watermark %v, want the oldest pending event's creation, %v", got.Watermark(), want)
	}

	// A pass that loaded version 1 saves; one still at version 0 (or 1
	// again) cannot.
	stale := got
	if err := store.Save(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if err := store.Save(ctx, &stale); !errors.Is(err, reconcile.ErrConflict) {
		t.Errorf("saving over a newer version: %v, want ErrConflict", err)
	}
	if err := store.Save(ctx, &reconcile.State{}); !errors.Is(err, reconcile.ErrConflict) {
		t.Errorf("a first save over an existing state: %v, want ErrConflict", err)
	}

	out, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("state"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: reconcile.StateID}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Item["expires"]; ok {
		t.Error("the state item has the table's TTL attribute: it would be deleted")
	}
	if w, ok := out.Item["watermark"].(*types.AttributeValueMemberN); !ok || w.Value != "1760001000" {
		t.Errorf("watermark attribute %v, want 1760001000", out.Item["watermark"])
	}

	if _, err := reconcile.NewDynamoDBState(db, "missing").Load(ctx); err == nil {
		t.Error("loading from a missing table succeeded")
	}
}

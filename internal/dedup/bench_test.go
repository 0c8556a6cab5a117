package dedup

import (
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BenchmarkRoundTrip compares the store's cost per id (a Claim and a
// Complete) with the cheapest write of a similar item (one unconditional
// PutItem), both against moto: compare with benchstat -col /impl.
func BenchmarkRoundTrip(b *testing.B) {
	e := newTestEnv(b)
	s := e.store(b, Options{})
	ctx := b.Context()
	n := 0
	nextID := func() string { n++; return "evt_bench_" + strconv.Itoa(n) }

	b.Run("impl=putitem", func(b *testing.B) {
		for b.Loop() {
			now := time.Now()
			_, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(e.table),
				Item: map[string]types.AttributeValue{
					attrID:      str(nextID()),
					attrStatus:  str(statusInProgress),
					attrOwner:   str("req-bench"),
					attrKind:    str("bench"),
					attrLease:   num(now.Add(time.Minute).UnixMilli()),
					attrUpdated: num(now.UnixMilli()),
					attrExpires: num(now.Add(DefaultRetention).Unix()),
				},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("impl=claim+complete", func(b *testing.B) {
		for b.Loop() {
			id := nextID()
			if err := s.Claim(ctx, id, Claim{Owner: "req-bench", Kind: "bench", Lease: time.Now().Add(time.Minute)}); err != nil {
				b.Fatal(err)
			}
			if err := s.Complete(ctx, id, "req-bench"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

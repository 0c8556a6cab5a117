// Package deduptest gives a test a dedup table in DynamoDB: a moto_server
// of its own, the AWS SDK pointed at it for the rest of the test, and the
// table created as the SAM template declares it.
package deduptest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"stripetask/internal/dedup"
	"stripetask/internal/moto"
)

// Table starts moto_server, points the AWS SDK at it (moto.Server.Env, so
// the test cannot run in parallel), creates the dedup table name on it and
// returns the server, for a test that stops it or gives DEDUP_TABLE to a
// function.
func Table(tb testing.TB, name string) *moto.Server {
	tb.Helper()
	srv := moto.Start(tb)
	cfg := srv.Config(tb)
	if err := dedup.CreateTable(tb.Context(), dynamodb.NewFromConfig(cfg), name); err != nil {
		tb.Fatal(err)
	}
	return srv
}

// Store is Table and a store on the table, configured as the functions
// configure theirs (dedup.DynamoDBFromConfig).
func Store(tb testing.TB, name string) (*dedup.DynamoDB, *moto.Server) {
	tb.Helper()
	srv := Table(tb, name)
	store, err := dedup.DynamoDBFromConfig(tb.Context(), name, dedup.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	return store, srv
}

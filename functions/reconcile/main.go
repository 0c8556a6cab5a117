// Command reconcile is the reconciler: in AWS Lambda, scheduled by the SAM
// template, each invocation runs one pass that finds the Stripe events the
// webhook never handled and runs them through the Handler; locally,
// `reconcile once` runs one pass and prints its summary. See the README.
package main

import (
	"context"
	"os"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
)

func main() {
	os.Exit(bootstrap.Reconcile(context.Background(), handler.Handler{}, bootstrap.OS()))
}

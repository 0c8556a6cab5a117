// Command leaky is a Lambda bootstrap of the project's functions with
// leaktest.Handler as the Handler, for the tests that run it under
// aws-lambda-rie: LEAK_FUNCTION picks the function (hook: the webhook,
// the default; work: the queue worker; rec: the reconciler) and
// LEAK_INIT=fail makes the Handler's Init fail. The values are shorter
// than what secrets.Map.Redact replaces, so that they do not turn the
// words they spell into secret names in the log.
package main

import (
	"context"
	"os"

	"stripetask/internal/bootstrap"
	"stripetask/internal/leaktest"
)

func main() {
	ctx := context.Background()
	h := leaktest.Handler{InitFails: os.Getenv("LEAK_INIT") == "fail"}
	switch os.Getenv("LEAK_FUNCTION") {
	case "work":
		os.Exit(bootstrap.Worker(ctx, h, bootstrap.OS()))
	case "rec":
		os.Exit(bootstrap.Reconcile(ctx, h, bootstrap.OS()))
	default:
		os.Exit(bootstrap.Webhook(ctx, h, bootstrap.OS()))
	}
}

// Command ignorectx is the Lambda bootstrap of the frozen-environment tests
// (functions/frozen): the webhook, the worker or the reconciler, as ROLE
// says, running a Handler whose ChargeSucceeded ignores its ctx. Each run
// appends "start <event> <pid> <unix ms>" to RUNS_FILE when it begins and
// "done <event> <pid> <unix ms>" when it completes; the first run of an event
// first sleeps IGNORE_CTX_FOR (a Go duration) without looking at its ctx, as
// a method blocked in a call without a deadline would. It lives under
// testdata so that `go build ./...` and `go vet ./...` skip it;
// lambdarie.Build builds it by its path.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/bootstrap"
)

// Handler is the Handler of the tests.
type Handler struct {
	dispatch.Env
}

// ChargeSucceeded records its run, ignoring ctx on the event's first run.
func (h *Handler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	path := os.Getenv("RUNS_FILE")
	prior, _ := os.ReadFile(path)
	first := !strings.Contains(string(prior), "start "+h.Event.ID+" ")
	record(path, "start", h.Event.ID)
	if d, _ := time.ParseDuration(os.Getenv("IGNORE_CTX_FOR")); first && d > 0 {
		time.Sleep(d) // ctx ignored
	}
	record(path, "done", h.Event.ID)
	return nil
}

// record appends one line to path, whole (O_APPEND: concurrent
// environments' lines do not interleave).
func record(path, what, id string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	fmt.Fprintf(f, "%s %s %d %d\n", what, id, os.Getpid(), time.Now().UnixMilli())
}

func main() {
	ctx := context.Background()
	switch os.Getenv("ROLE") {
	case "worker":
		os.Exit(bootstrap.Worker(ctx, Handler{}, bootstrap.OS()))
	case "reconcile":
		os.Exit(bootstrap.Reconcile(ctx, Handler{}, bootstrap.OS()))
	default: // the webhook, EventBridge included
		os.Exit(bootstrap.Webhook(ctx, Handler{}, bootstrap.OS()))
	}
}

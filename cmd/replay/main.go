// Command replay runs events from Stripe's Events API through the Handler,
// as the webhook would have run them: for events whose delivery failed or
// never arrived (the endpoint was down or disabled, Stripe gave up after
// its three days of retries), or to run one again on purpose. `make replay
// ARGS="..."` runs it.
//
// Usage:
//
//	go run ./cmd/replay [-force] EVENT_ID...
//	go run ./cmd/replay [-force] -since DURATION|TIME [-type TYPE]...
//
// With event ids, each event is fetched (GET /v1/events/{id}); all are
// fetched first, then run oldest first (by creation time). With -since,
// the events created from then until now are listed instead, oldest first:
// -since takes a Go duration back from now ("2h", "90m") or an RFC 3339
// time ("2024-05-01T12:00:00Z"); each -type (repeatable) keeps events of an
// exact type ("invoice.paid") or of a prefix ("invoice.*"). Stripe keeps
// events for 30 days, so -since is at most 720h (30 days) ago: a longer one
// is a usage error. Flags come before the ids.
//
// The Handler runs with the functions' secrets (the environment, or the
// Secrets Manager secret SECRETS_ID) and Stripe client (STRIPE_KEY,
// STRIPE_API_BASE), through the same pipeline as webhook deliveries. With
// DEDUP_TABLE set, an event already handled is a duplicate and does not run
// again; -force runs it anyway (its method runs a second time, side effects
// and all), with a warning on stderr before starting and for each event.
//
// Output: one line per event on stdout, "<id> <type> <outcome>", with the
// pipeline's outcomes (handled, duplicate, ignored, in_progress,
// handler_error, ...), or "<id> - not_found" / "<id> - fetch_failed" for an
// id that could not be fetched; then a summary, "N events: X handled, Y
// duplicate, Z ignored, W failed", where failed is every other outcome. The
// pipeline's JSON log lines go to stderr.
//
// Exit status: 0 when nothing failed, 1 when something did (or the events
// could not be listed), 2 for a usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"stripetask/dispatch"
	"stripetask/handler"
	"stripetask/internal/bootstrap"
)

// name names the command in messages, and the runtime.
const name = "replay"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, handler.Handler{}, bootstrap.OS())
	stop()
	os.Exit(code)
}

// Run runs the command for the Handler type H, with proto as its prototype
// (main passes handler.Handler{}), on the process p (arguments without the
// program name, environment, output streams), and returns the exit status.
func Run[H any, P interface {
	*H
	dispatch.EnvCarrier
}](ctx context.Context, proto H, p bootstrap.Process) int {
	opts, err := parseArgs(p.Args, time.Now(), p.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 2
	case err != nil:
		fmt.Fprintf(p.Stderr, "%s: %v\n", name, err)
		return 2
	}
	if opts.force {
		fmt.Fprintf(p.Stderr, "%s: WARNING: -force: events run even if already handled: their methods run again, side effects and all\n", name)
	}
	// The arguments are parsed: the runtime must not read them as a
	// function's mode (`invoke` starts a local stripe-mock).
	p.Args = nil
	rt, err := bootstrap.NewRuntime[H, P](ctx, name, proto, p, true)
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer rt.Close()
	r, err := newReplayer(ctx, rt, opts.force, p.Stdout, p.Stderr)
	if err != nil {
		fmt.Fprintf(p.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return r.run(ctx, opts)
}

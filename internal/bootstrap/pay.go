package bootstrap

import (
	"context"
	"fmt"
	"time"

	"stripetask/internal/function"
	"stripetask/internal/payapi"
	"stripetask/internal/stripeclient"
	"stripetask/internal/transport"
)

// Pay runs the payments API function and returns the process exit code: in
// AWS Lambda when AWS_LAMBDA_RUNTIME_API is set, otherwise the local
// `serve` (default address 127.0.0.1:3001, loopback only) and `invoke`
// modes. It reads the same settings and secrets source as the webhook.
func Pay(ctx context.Context, p Process) int {
	start := time.Now() // the cold start's bounds count from here
	settings, err := ReadSettings(p.Getenv)
	if err != nil {
		fmt.Fprintf(p.Stderr, "pay: %v\n", err)
		return 1
	}
	log := NewLogger(p.Stderr, settings.LogLevel)
	// Local development: `invoke` without STRIPE_KEY gets a stripe-mock for
	// the invocation (see localstripe.go); never in Lambda or `serve`.
	p, stopStripe, err := localStripe(ctx, "pay", p)
	if err != nil {
		fmt.Fprintf(p.Stderr, "pay %v\n", err)
		return 1
	}
	defer stopStripe()
	src, err := Secrets(ctx, settings, p.Environ, log)
	if err != nil {
		fmt.Fprintf(p.Stderr, "pay: %v\n", err)
		return 1
	}
	if running(p) {
		prefetch(ctx, src, start) // under way while the routes are set up
	}
	h := payapi.New(payapi.Config{Deps: function.Deps{
		Secrets:   src,
		Log:       log,
		Stripe:    stripeclient.NewCache(nil, log),
		RequestID: transport.RequestID,
	}})
	if running(p) {
		if _, err := warmUp(ctx, start, src, warmErr(h.Warm)); err != nil {
			// The secrets source's own error: it never contains a secret
			// value (secrets.Source), and pay runs no Handler Init.
			log.Error("cold start could not load secrets; retrying with each request", "error", err.Error())
		}
	}
	return transport.Main(ctx, h, p.Args, transport.Options{
		Name:        "pay",
		Path:        "", // the API routes every path itself
		DefaultAddr: "127.0.0.1:3001",
		Stdin:       p.Stdin,
		Stdout:      p.Stdout,
		Stderr:      p.Stderr,
		Ready:       p.Ready,
		Getenv:      p.Getenv,
		Log:         log,
	})
}

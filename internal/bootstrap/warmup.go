package bootstrap

import (
	"context"
	"time"

	"stripetask/internal/pipeline"
	"stripetask/secrets"
)

// Bounds of a cold start's network waits, before the first event: the
// secrets' prefetch and the warm-up (the secrets, then the Handler's Init).
// Lambda gives the Init phase, from the process start to the runtime's
// first request for an event, 10 s; beyond, it ends Init and runs it again
// within the first invocation, under the function's timeout
// (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html).
// aws-lambda-rie (and so sam local) counts Init into the first
// invocation's timeout. A warm-up that runs out of time fails nothing: the
// first event warms up again on its own budget, and answers 503 itself if
// that fails too. Both are measured from the start of the function's
// wiring (NewRuntime, Pay).
const (
	// ColdStartSecretsWait bounds the cold start's wait for the secrets:
	// Secrets Manager answers within tens of milliseconds in its Region, a
	// cold TLS connection included, so a fetch not done in 2 s is hung (a
	// VPC without a Secrets Manager endpoint: connections time out), and
	// waiting longer would only take time from the first event.
	ColdStartSecretsWait = 2 * time.Second
	// ColdStartWarmWait bounds the whole warm-up, the Handler's Init
	// included: half of Lambda's 10 s Init, the other half left for the
	// process start, the dispatch table, the clients and margin.
	ColdStartWarmWait = 5 * time.Second
)

// warmUp runs warm, a function's cold-start warm-up (the webhook's, the
// pipeline's, the payments API's Warm), within the cold start's bounds,
// counted from start: it waits for src's secrets (the prefetch's fetch,
// if one is under way) until ColdStartSecretsWait, then runs warm until
// ColdStartWarmWait. Without the secrets by then, warm is not run: the
// outcome is pipeline.SecretsUnavailable, with the source's error.
func warmUp(ctx context.Context, start time.Time, src secrets.Source, warm func(context.Context) (pipeline.Outcome, error)) (pipeline.Outcome, error) {
	sctx, cancel := context.WithDeadline(ctx, start.Add(ColdStartSecretsWait))
	_, err := src.Load(sctx)
	cancel()
	if err != nil {
		return pipeline.SecretsUnavailable, err
	}
	wctx, cancel := context.WithDeadline(ctx, start.Add(ColdStartWarmWait))
	defer cancel()
	return warm(wctx)
}

// warmErr adapts a warm-up that reports only an error (the payments
// API's, which runs no Handler) to warmUp.
func warmErr(warm func(context.Context) error) func(context.Context) (pipeline.Outcome, error) {
	return func(ctx context.Context) (pipeline.Outcome, error) { return "", warm(ctx) }
}

package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"stripetask/dispatch"
	"stripetask/internal/lambdaenv"
	"stripetask/internal/pipeline"
	"stripetask/internal/reconcile"
)

// Bounds of the reconciler's settings.
var (
	graceRange    = [2]time.Duration{0, 24 * time.Hour}
	lookbackRange = [2]time.Duration{time.Minute, reconcile.MaxLookback}
)

// reconcileSettings are the reconciler's own settings, beside Settings.
type reconcileSettings struct {
	// Grace is RECONCILE_GRACE: events younger than this are left to
	// Stripe's own delivery attempts. 0 to 24 h; default 10 minutes.
	Grace time.Duration
	// Lookback is RECONCILE_LOOKBACK: how far back the first pass looks.
	// Longer than the grace, 1 minute to 30 days; default 1 hour.
	Lookback time.Duration
}

// errNoDedupTable is the reconciler's start-up error without DEDUP_TABLE.
var errNoDedupTable = errors.New("DEDUP_TABLE is not set: the reconciler needs the dedup table, " +
	"since without it an event the webhook already handled would run again")

// readReconcileSettings reads the reconciler's settings and checks that
// DEDUP_TABLE is set; an error names the setting at fault.
func readReconcileSettings(getenv func(string) string) (reconcileSettings, error) {
	if strings.TrimSpace(getenv("DEDUP_TABLE")) == "" {
		return reconcileSettings{}, errNoDedupTable
	}
	var (
		s   reconcileSettings
		err error
	)
	if s.Grace, err = duration(getenv, "RECONCILE_GRACE", reconcile.DefaultGrace, graceRange); err != nil {
		return s, err
	}
	if s.Lookback, err = duration(getenv, "RECONCILE_LOOKBACK", reconcile.DefaultLookback, lookbackRange); err != nil {
		return s, err
	}
	if s.Lookback <= s.Grace {
		return s, fmt.Errorf("RECONCILE_LOOKBACK=%s is not longer than RECONCILE_GRACE=%s: the first pass would look at nothing", s.Lookback, s.Grace)
	}
	return s, nil
}

// reconcileUsage is the reconciler's usage text.
const reconcileUsage = `usage: reconcile once

Runs one reconciliation pass: the Stripe events of the types the Handler has
methods for, created since the last pass (RECONCILE_LOOKBACK, default 1h,
for the first) until RECONCILE_GRACE (default 10m) ago, that were never
handled, through the Handler; then prints a summary. Needs DEDUP_TABLE and
the secrets STRIPE_KEY (and STRIPE_WEBHOOK_ENDPOINT_ID for the endpoint
watchdog). In AWS Lambda each invocation (a scheduled event) is one pass.
`

// Reconcile runs the reconciler for the Handler type H and returns the
// process exit code: in AWS Lambda (AWS_LAMBDA_RUNTIME_API set) one pass per
// invocation, whatever its payload (a scheduled event), bounded by the
// invocation's deadline and failing only when the pass itself failed;
// locally, `reconcile once` runs one pass and prints its summary. It refuses
// to start (exit 1) without DEDUP_TABLE or with a setting out of range.
func Reconcile[H any, P interface {
	*H
	dispatch.EnvCarrier
}](ctx context.Context, proto H, p Process) int {
	inLambda := p.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	if !inLambda {
		switch {
		case len(p.Args) == 1 && p.Args[0] == "once":
		case len(p.Args) == 1 && (p.Args[0] == "help" || p.Args[0] == "-h" || p.Args[0] == "-help" || p.Args[0] == "--help"):
			io.WriteString(p.Stdout, reconcileUsage)
			return 0
		default:
			io.WriteString(p.Stderr, reconcileUsage)
			return 2
		}
	}
	rs, err := readReconcileSettings(p.Getenv)
	if err != nil {
		fmt.Fprintf(p.Stderr, "reconcile: %v\n", err)
		return 1
	}
	rt, err := NewRuntime[H, P](ctx, reconcile.SourceName, proto, p, true)
	if err != nil {
		fmt.Fprintf(p.Stderr, "reconcile: %v\n", err)
		return 1
	}
	defer rt.Close()
	rec, pl, err := newReconciler(ctx, rt, rs)
	if err != nil {
		fmt.Fprintf(p.Stderr, "reconcile: %v\n", err)
		return 1
	}
	if inLambda {
		// A pass whose method was abandoned at its deadline ends the
		// environment after its answer (lambdaenv).
		lambdaenv.Start(ctx, func(ctx context.Context, _ json.RawMessage) error {
			id := ""
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				id = lc.AwsRequestID
			}
			_, err := rec.Pass(ctx, id)
			return err
		}, pl.Abandoned, rt.Log)
		return 0
	}
	// Interrupted, the pass stops, saves where it stopped and prints its
	// summary.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	sum, err := rec.Pass(ctx, "local-"+randomHex())
	io.WriteString(rt.Process.Stdout, sum.Text())
	if err != nil {
		// Redacted by Pass, as the invocation's error above is.
		fmt.Fprintf(rt.Process.Stderr, "reconcile: %v\n", err)
		return 1
	}
	return 0
}

// newReconciler wires the reconciler from the runtime: its pipeline, the
// state in the dedup table, and the event types the Handler has methods for
// (every type with a Default method).
func newReconciler(ctx context.Context, rt *Runtime, rs reconcileSettings) (*reconcile.Reconciler, *pipeline.Pipeline, error) {
	if rt.Dedup == nil {
		return nil, nil, errNoDedupTable
	}
	// The state lives in the dedup table, through the dedup store's client.
	state := reconcile.NewDynamoDBState(rt.dynamo, rt.Settings.DedupTable)
	pl := rt.Pipeline()
	if outcome, err := rt.WarmUp(ctx, pl.Warm); err != nil {
		logWarmFailure(ctx, rt.Log, rt.Deps.Secrets, "cold start failed; retrying with the next pass", outcome, err)
	}
	rec, err := reconcile.New(reconcile.Config{
		Secrets:  rt.Deps.Secrets,
		Stripe:   rt.Deps.Stripe,
		Log:      rt.Log,
		Pipeline: pl,
		Types:    rt.Dispatcher.EventTypes(),
		AllTypes: rt.Dispatcher.HasDefault(),
		State:    state,
		Grace:    rs.Grace,
		Lookback: rs.Lookback,
	})
	return rec, pl, err
}

// randomHex returns 16 random hexadecimal digits.
func randomHex() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

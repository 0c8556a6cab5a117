package bootstrap

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"stripetask/dispatch"
	"stripetask/internal/awsconfig"
	"stripetask/internal/lambdaenv"
	"stripetask/internal/queueworker"
)

// Worker runs the queue worker for the Handler type H and returns the
// process exit code: in AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it serves
// the SQS event source mapping of the queue the webhook fills in queue
// mode; locally, `worker poll` long-polls QUEUE_URL (moto or SQS) and runs
// what it receives, one line per message on standard output, until
// interrupted.
func Worker[H any, P interface {
	*H
	dispatch.EnvCarrier
}](ctx context.Context, proto H, p Process) int {
	inLambda := p.Getenv("AWS_LAMBDA_RUNTIME_API") != ""
	polling := len(p.Args) > 0 && p.Args[0] == "poll"
	if !inLambda && !polling {
		workerUsage(p.Stderr)
		if len(p.Args) > 0 && (p.Args[0] == "help" || p.Args[0] == "-h" || p.Args[0] == "--help") {
			return 0
		}
		return 2
	}
	// Checked before anything starts: without a queue, poll has nothing to
	// do, whatever the rest of the settings say.
	if !inLambda && strings.TrimSpace(p.Getenv("QUEUE_URL")) == "" {
		fmt.Fprintln(p.Stderr, "worker poll: set QUEUE_URL to the SQS FIFO queue to read")
		return 2
	}
	rt, err := NewRuntime[H, P](ctx, "worker", proto, p, true)
	if err != nil {
		fmt.Fprintf(p.Stderr, "worker: %v\n", err)
		return 1
	}
	defer rt.Close()
	pl := rt.Pipeline() // no queue: the worker runs the methods
	if outcome, err := rt.WarmUp(ctx, pl.Warm); err != nil {
		logWarmFailure(ctx, rt.Log, rt.Deps.Secrets, "cold start failed; retrying with the next message", outcome, err)
	}
	w := queueworker.New(pl)
	if inLambda {
		// A batch whose method was abandoned at its deadline ends the
		// environment after its answer (lambdaenv).
		lambdaenv.Start(ctx, w.Handle, pl.Abandoned, rt.Log)
		return 0
	}
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		fmt.Fprintf(p.Stderr, "worker: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(p.Stderr, "worker: polling %s (Ctrl-C to stop)\n", rt.Settings.QueueURL)
	if err := w.Poll(ctx, sqs.NewFromConfig(awsconfig.ForLongPolls(cfg)), rt.Settings.QueueURL, p.Stdout, rt.Log); err != nil {
		fmt.Fprintf(p.Stderr, "worker: %v\n", err)
		return 1
	}
	return 0
}

func workerUsage(w io.Writer) {
	fmt.Fprint(w, `Usage:
  worker poll    long-poll QUEUE_URL (SQS or moto) and run each message's
                 event through the Handler, one line per message; Ctrl-C
                 stops
  worker help    print this help

In AWS Lambda, where AWS_LAMBDA_RUNTIME_API is set, worker ignores its
arguments and serves the queue's SQS event source mapping.
`)
}

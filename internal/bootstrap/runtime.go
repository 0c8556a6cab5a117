package bootstrap

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"stripetask/dispatch"
	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/eventqueue"
	"stripetask/internal/function"
	"stripetask/internal/pipeline"
	"stripetask/internal/stripeclient"
	"stripetask/internal/transport"
)

// Runtime is what every function that runs the Handler builds from its
// process: the settings, the logger, the secrets and the Stripe client
// (Deps), the Handler's dispatcher and the dedup store. The webhook, the
// reconciler and cmd/replay each put a source in front of its pipeline.
type Runtime struct {
	// Name names the function in messages: "webhook", "reconcile", "replay".
	Name       string
	Settings   Settings
	Log        *slog.Logger
	Deps       function.Deps
	Dispatcher *dispatch.Dispatcher
	// Dedup is the DEDUP_TABLE store, or nil without one.
	Dedup dedup.Store
	// Queue is the QUEUE_URL queue in queue mode (PROCESSING_MODE=queue),
	// or nil.
	Queue *eventqueue.Queue
	// Process is the process the runtime was built from; for `invoke`
	// without STRIPE_KEY it points at a local stripe-mock.
	Process Process
	started time.Time // when NewRuntime began: the cold start's bounds count from it
	// dynamo is the DynamoDB client of the DEDUP_TABLE store, or nil: the
	// reconciler keeps its state in the same table through it.
	dynamo *dynamodb.Client
	stop   func()
}

// NewRuntime builds the Runtime of the Handler type H from p. With running,
// the process is about to run events: a Secrets Manager fetch starts at once
// (bounded by ColdStartSecretsWait) and the typed methods' decoders are
// warmed while it is on the network; call WarmUp next. An error is for the
// person starting the process: it names the setting or the method at fault.
// Call Close when done.
func NewRuntime[H any, P interface {
	*H
	dispatch.EnvCarrier
}](ctx context.Context, name string, proto H, p Process, running bool) (*Runtime, error) {
	started := time.Now()
	settings, err := ReadSettings(p.Getenv)
	if err != nil {
		return nil, err
	}
	log := NewLogger(p.Stderr, settings.LogLevel)
	// Local development: `invoke` without STRIPE_KEY gets a stripe-mock for
	// the invocation (see localstripe.go); never in Lambda or `serve`.
	p, stop, err := localStripe(ctx, name, p)
	if err != nil {
		return nil, err
	}
	r := &Runtime{Name: name, Settings: settings, Log: log, Process: p, started: started, stop: stop}
	// The one AWS SDK configuration, loaded once for every client that
	// needs it (a load costs milliseconds of the cold start).
	awsCfg := sync.OnceValues(func() (aws.Config, error) { return awsconfig.Load(ctx) })
	src, err := secretsSource(settings, p.Environ, log, awsCfg)
	if err != nil {
		r.Close()
		return nil, err
	}
	fetching := running && prefetch(ctx, src, started)
	r.Dispatcher, err = dispatch.New[H, P](proto, dispatch.StrictAPIVersion(settings.StrictAPIVersion), dispatch.WithLogger(log))
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("invalid handler: %w", err)
	}
	if fetching {
		// The secrets are on their way over the network: meanwhile, do the
		// work the first event would otherwise wait for.
		r.Dispatcher.WarmDecoders()
	}
	if settings.DedupTable != "" || settings.ProcessingMode == ModeQueue {
		cfg, err := awsCfg()
		if err != nil {
			r.Close()
			return nil, err
		}
		if settings.DedupTable != "" {
			r.dynamo = dynamodb.NewFromConfig(cfg)
			r.Dedup = dedup.NewDynamoDB(r.dynamo, settings.DedupTable, dedup.Options{})
		}
		if settings.ProcessingMode == ModeQueue {
			r.Queue = eventqueue.New(sqs.NewFromConfig(cfg), settings.QueueURL)
		}
	}
	r.Deps = function.Deps{
		Secrets:   src,
		Log:       log,
		Stripe:    stripeclient.NewCache(nil, log),
		RequestID: transport.RequestID,
	}
	return r, nil
}

// WarmUp runs warm, the function's cold-start warm-up (webhookhttp's or
// the pipeline's Warm), within the cold start's bounds
// (ColdStartSecretsWait, ColdStartWarmWait), so that Init ends within
// Lambda's 10 s whatever the secrets' backend or the Handler's Init does.
// Its result is warm's, or pipeline.SecretsUnavailable without the
// secrets in time.
func (r *Runtime) WarmUp(ctx context.Context, warm func(context.Context) (pipeline.Outcome, error)) (pipeline.Outcome, error) {
	return warmUp(ctx, r.started, r.Deps.Secrets, warm)
}

// Pipeline returns a pipeline running the Handler with the runtime's
// dependencies and dedup store.
func (r *Runtime) Pipeline() *pipeline.Pipeline {
	return pipeline.New(r.PipelineConfig())
}

// PipelineConfig is the configuration Pipeline uses, for a caller that
// adds to it (the webhook's queue).
func (r *Runtime) PipelineConfig() pipeline.Config {
	return pipeline.Config{Deps: r.Deps, Dispatcher: r.Dispatcher, Dedup: r.Dedup, Function: r.Name, AcceptTestEvents: r.Settings.AcceptTestEvents}
}

// Close releases what NewRuntime started.
func (r *Runtime) Close() {
	if r.stop != nil {
		r.stop()
	}
}

// Package bootstrap wires a function together from its process environment: the
// logger, the secrets source, the Stripe client, the HTTP handler and the
// transport that runs it in AWS Lambda or locally. main packages call it and
// nothing else.
package bootstrap

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"stripetask/dispatch"
	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/eventbridge"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/lambdaenv"
	"stripetask/internal/pipeline"
	"stripetask/internal/transport"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// Process is what a function takes from its process: arguments, environment
// and standard streams. Tests pass their own.
type Process struct {
	Args    []string // without the program name
	Getenv  func(string) string
	Environ []string
	Stdout  io.Writer
	Stderr  io.Writer
	// Stdin is read by `invoke -`; nil means os.Stdin.
	Stdin io.Reader
	// Ready, if set, is told the address `serve` listens on (tests use it
	// with -addr 127.0.0.1:0).
	Ready func(net.Addr)
}

// OS returns the real process's Process.
func OS() Process {
	return Process{Args: os.Args[1:], Getenv: os.Getenv, Environ: os.Environ(), Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
}

// Secrets returns the secrets source the settings select: Secrets Manager
// when SECRETS_ID is set, through a client of the runtime's one AWS SDK
// configuration (awsconfig.Load), else the process environment.
func Secrets(ctx context.Context, s Settings, environ []string, log *slog.Logger) (secrets.Source, error) {
	return secretsSource(s, environ, log, func() (aws.Config, error) { return awsconfig.Load(ctx) })
}

// secretsSource is Secrets with the AWS SDK configuration from awsCfg,
// called only for Secrets Manager.
func secretsSource(s Settings, environ []string, log *slog.Logger, awsCfg func() (aws.Config, error)) (secrets.Source, error) {
	if s.SecretsID == "" {
		return secrets.FromEnviron(environ), nil
	}
	cfg, err := awsCfg()
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	return secrets.SecretsManagerFromConfig(cfg, s.SecretsID, secrets.SecretsManagerOptions{TTL: s.SecretsTTL, Log: log}), nil
}

// NewLogger returns the JSON logger every function uses. Lines at
// LevelTrace and LevelFatal carry "level":"TRACE" and "FATAL", the names
// Lambda's advanced logging controls use, rather than slog's "DEBUG-4" and
// "ERROR+4".
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: levelNames}))
}

// levelNames names the levels beyond slog's four.
func levelNames(groups []string, a slog.Attr) slog.Attr {
	if a.Key != slog.LevelKey || len(groups) > 0 {
		return a
	}
	switch l, _ := a.Value.Any().(slog.Level); {
	case l <= LevelTrace:
		a.Value = slog.StringValue("TRACE")
	case l >= LevelFatal:
		a.Value = slog.StringValue("FATAL")
	}
	return a
}

// Webhook runs the webhook function for the Handler type H and returns the
// process exit code: in AWS Lambda when AWS_LAMBDA_RUNTIME_API is set,
// otherwise the local `serve` and `invoke` modes.
func Webhook[H any, P interface {
	*H
	dispatch.EnvCarrier
}](ctx context.Context, proto H, p Process) int {
	rt, err := NewRuntime[H, P](ctx, "webhook", proto, p, running(p))
	if err != nil {
		// Plain text: this is read by a person fixing a setting or their
		// Handler.
		fmt.Fprintf(p.Stderr, "webhook: %v\n", err)
		return 1
	}
	defer rt.Close()
	p, log := rt.Process, rt.Log
	pc := rt.PipelineConfig()
	if rt.Queue != nil {
		pc.Queue = rt.Queue // queue mode: methods run in the worker
	}
	pl := pipeline.New(pc)
	h := webhookhttp.New(webhookhttp.Config{Deps: rt.Deps, Pipeline: pl, Tolerance: rt.Settings.Tolerance})
	if running(p) {
		if outcome, err := rt.WarmUp(ctx, h.Warm); err != nil {
			logWarmFailure(ctx, log, rt.Deps.Secrets, "cold start failed; retrying with the next delivery", outcome, err)
		}
	}
	return transport.Main(ctx, h, p.Args, transport.Options{
		Name:        "webhook",
		Path:        "/webhook",
		DefaultAddr: "127.0.0.1:3000",
		Stdin:       p.Stdin,
		Stdout:      p.Stdout,
		Stderr:      p.Stderr,
		Ready:       p.Ready,
		Getenv:      p.Getenv,
		Prepare:     renewSignature(rt.Deps.Secrets),
		// A delivery whose method was abandoned at its deadline ends the
		// environment after its answer (lambdaenv).
		StartLambda: func(ctx context.Context, h lambda.Handler) {
			lambdaenv.Start(ctx, h, pl.Abandoned, log)
		},
		// The same binary serves Stripe's EventBridge event destinations.
		Other: eventbridge.New(pl, rt.Settings.EventSource),
		Log:   log,
	})
}

// prefetch starts loading src's secrets in the background when they come
// over the network (Secrets Manager) and reports whether it did: the source
// keeps what it fetched, and the warm-up that follows waits for it rather
// than fetching again. This round trip is the only network wait of a cold
// start; the rest of the start-up runs meanwhile. It is given up
// ColdStartSecretsWait after start, when the warm-up stops waiting for it.
func prefetch(ctx context.Context, src secrets.Source, start time.Time) bool {
	if _, local := src.(secrets.Static); local {
		return false
	}
	go func() {
		ctx, cancel := context.WithDeadline(ctx, start.Add(ColdStartSecretsWait))
		defer cancel()
		src.Load(ctx) // a failure is reported by the warm-up's own Load
	}()
	return true
}

// NewWebhook wires the webhook's HTTP handler: the HTTP adapter in front of
// the pipeline that runs d's Handler, with store for dedup (nil: none) and
// the signature tolerance (zero: the default).
func NewWebhook(deps function.Deps, d *dispatch.Dispatcher, store dedup.Store, tolerance time.Duration) *webhookhttp.Handler {
	return webhookhttp.New(webhookhttp.Config{
		Deps:      deps,
		Pipeline:  pipeline.New(pipeline.Config{Deps: deps, Dispatcher: d, Dedup: store, Function: "webhook"}),
		Tolerance: tolerance,
	})
}

// renewSignature is the `invoke` mode's Prepare: it signs a recorded
// delivery whose signature is genuine but stale afresh (see fixture.Renew).
func renewSignature(src secrets.Source) func(*http.Request) error {
	return func(r *http.Request) error {
		m, err := src.Load(r.Context())
		if err != nil {
			return err
		}
		return fixture.Renew(r, m.List(webhookhttp.WebhookSecret), time.Now())
	}
}

// running reports whether the process will serve requests, rather than
// print its usage.
func running(p Process) bool {
	if p.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return true
	}
	return len(p.Args) > 0 && (p.Args[0] == "serve" || p.Args[0] == "invoke")
}

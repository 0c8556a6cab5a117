package bootstrap

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/awsconfig"
	"stripetask/internal/dedup"
	"stripetask/internal/hungserver"
	"stripetask/internal/moto"
	"stripetask/internal/pipeline"
	"stripetask/internal/reconcile"
	"stripetask/internal/testlog"
	"stripetask/secrets"
)

// The tests in this file model a Secrets Manager, a DynamoDB and an SQS
// that accept connections and never answer (internal/hungserver), as an
// impaired service or a proxy in between does; in a VPC without an
// interface endpoint for a service, its connections time out instead
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/vpc-endpoint-overview.html).
// The clients are the runtime's own, built as in Lambda, from the SDK's
// environment settings.

// slack is what a bounded wait may exceed its bound by on a busy machine.
const slack = 2 * time.Second

// within fails unless took is from min to min+slack.
func within(t *testing.T, what string, took, min time.Duration) {
	t.Helper()
	if took < min || took > min+slack {
		t.Errorf("%s took %v, want %v to %v", what, took, min, min+slack)
	}
}

// TestWarmUpHungSecrets: with Secrets Manager hung, the cold start's
// warm-up gives up on the secrets ColdStartSecretsWait after the start,
// the prefetch's fetch included, and does not run the Handler's Init.
func TestWarmUpHungSecrets(t *testing.T) {
	url, accepted := hungserver.Start(t)
	moto.PointSDK(t, url)
	start := time.Now()
	src, err := Secrets(t.Context(), Settings{SecretsID: "hung"}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !prefetch(context.Background(), src, start) {
		t.Fatal("no prefetch for Secrets Manager")
	}
	ran := false
	outcome, err := warmUp(context.Background(), start, src, func(context.Context) (pipeline.Outcome, error) {
		ran = true
		return "", nil
	})
	within(t, "the warm-up", time.Since(start), ColdStartSecretsWait)
	if outcome != pipeline.SecretsUnavailable || !errors.Is(err, secrets.ErrUnavailable) || ran {
		t.Errorf("warm-up: %q %v, warm ran: %v; want secrets_unavailable, ErrUnavailable, not run", outcome, err, ran)
	}
	if n := accepted(); n != 1 {
		t.Errorf("%d connections, want 1: the warm-up waits for the prefetch's fetch", n)
	}
}

// TestWarmUpBound: the Handler's Init gets the rest of ColdStartWarmWait,
// as a deadline, and no more.
func TestWarmUpBound(t *testing.T) {
	t.Parallel()
	start := time.Now()
	var deadline time.Time
	outcome, err := warmUp(context.Background(), start, secrets.Static{}, func(ctx context.Context) (pipeline.Outcome, error) {
		deadline, _ = ctx.Deadline()
		<-ctx.Done() // an Init waiting on a hung dependency
		return pipeline.InitFailed, ctx.Err()
	})
	within(t, "the warm-up", time.Since(start), ColdStartWarmWait)
	if !deadline.Equal(start.Add(ColdStartWarmWait)) {
		t.Errorf("Init's deadline %v after the start, want %v", deadline.Sub(start), ColdStartWarmWait)
	}
	if outcome != pipeline.InitFailed || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("warm-up: %q %v", outcome, err)
	}
}

// oneMethod is a Handler with one method.
type oneMethod struct{ dispatch.Env }

func (oneMethod) ChargeSucceeded(context.Context, *stripe.Charge) error { return nil }

// TestRuntimeClientsBounded builds the runtime's AWS clients as a function
// does (SECRETS_ID, DEDUP_TABLE, queue mode, and the reconciler's state),
// each service pointed at an endpoint of its own that never answers, and
// calls each without a deadline: every call fails within awsconfig's
// bound, the Secrets Manager fetch within the source's FetchTimeout, and
// each service sees more than one attempt, which only a read timeout
// shorter than the bound allows. A client built with the SDK's defaults
// would wait forever.
func TestRuntimeClientsBounded(t *testing.T) {
	const table = "events"
	hung := map[string]func() int{}
	env := moto.SDKEnv("http://127.0.0.1:1")
	for _, service := range []string{"SECRETS_MANAGER", "DYNAMODB", "SQS"} {
		url, accepted := hungserver.Start(t)
		env["AWS_ENDPOINT_URL_"+service] = url
		hung[service] = accepted
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	settings := map[string]string{"SECRETS_ID": "hung", "DEDUP_TABLE": table,
		"PROCESSING_MODE": "queue", "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/events.fifo"}
	logs := &testlog.Buffer{}
	p := Process{Getenv: func(k string) string { return settings[k] }, Stdout: logs, Stderr: logs}
	rt, err := NewRuntime[oneMethod](t.Context(), "webhook", oneMethod{}, p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	state, err := reconcile.DynamoDBStateFromConfig(t.Context(), table)
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name  string
		bound time.Duration
		call  func(context.Context) error
	}{
		{"secrets", secrets.DefaultFetchTimeout, func(ctx context.Context) error {
			_, err := rt.Deps.Secrets.Load(ctx)
			return err
		}},
		{"dedup claim", awsconfig.MaxHungRequest, func(ctx context.Context) error {
			return rt.Dedup.Claim(ctx, "evt_hung", dedup.Claim{Owner: "o", Lease: time.Now().Add(time.Minute)})
		}},
		{"queue send", awsconfig.MaxHungRequest, func(ctx context.Context) error {
			_, err := rt.Queue.Send(ctx, []byte(`{"id":"evt_hung"}`), "ch_hung", "evt_hung")
			return err
		}},
		{"reconciler state", awsconfig.MaxHungRequest, func(ctx context.Context) error {
			_, err := state.Load(ctx)
			return err
		}},
	}
	var wg sync.WaitGroup
	for _, c := range calls {
		wg.Go(func() {
			start := time.Now()
			err := c.call(context.Background())
			took := time.Since(start)
			t.Logf("%s: failed after %v: %v", c.name, took.Round(time.Millisecond), err)
			if err == nil || took > c.bound+slack {
				t.Errorf("%s: %v after %v, want an error within %v", c.name, err, took, c.bound+slack)
			}
		})
	}
	wg.Wait()
	for service, accepted := range hung {
		if n := accepted(); n < 2 {
			t.Errorf("%s: %d connections, want at least 2: an attempt must give up well within the bound", service, n)
		}
	}
}

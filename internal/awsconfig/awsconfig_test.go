package awsconfig

import (
	"context"
	"errors"
	"go/build"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go/logging"

	"stripetask/internal/hungserver"
	"stripetask/internal/moto"
)

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 100; attempt++ {
		limit := min(baseBackoff<<min(attempt, 7), maxBackoff)
		for range 50 {
			d, err := Backoff(attempt, nil)
			if err != nil || d < 0 || d >= limit || d > maxBackoff {
				t.Fatalf("attempt %d: %v %v, want under %v", attempt, d, err, limit)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.Retryer().MaxAttempts() != MaxAttempts {
		t.Fatalf("region %q, %d attempts", cfg.Region, cfg.Retryer().MaxAttempts())
	}
	// The SDK's own lines are plain text on stderr, outside the
	// functions' JSON lines and their redaction (the RIE hung-dependency
	// tests' slow-body rows fail on them).
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("the SDK logs through %T, want logging.Nop", cfg.Logger)
	}
}

// client is one AWS service's client of a configuration, its options'
// HTTP client and retryer, and a request to it.
type client struct {
	name    string
	options func(aws.Config) (aws.HTTPClient, aws.Retryer)
	request func(context.Context, aws.Config) error
}

// clients are the services the functions use, each with a request they
// make: Secrets Manager (the secrets), DynamoDB (dedup, the reconciler's
// state), SQS (queue mode, the worker's poll).
var clients = []client{
	{
		name: "Secrets Manager",
		options: func(cfg aws.Config) (aws.HTTPClient, aws.Retryer) {
			o := secretsmanager.NewFromConfig(cfg).Options()
			return o.HTTPClient, o.Retryer
		},
		request: func(ctx context.Context, cfg aws.Config) error {
			_, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("s")})
			return err
		},
	},
	{
		name: "DynamoDB",
		options: func(cfg aws.Config) (aws.HTTPClient, aws.Retryer) {
			o := dynamodb.NewFromConfig(cfg).Options()
			return o.HTTPClient, o.Retryer
		},
		request: func(ctx context.Context, cfg aws.Config) error {
			_, err := dynamodb.NewFromConfig(cfg).GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String("events"), Key: map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "evt_1"}},
			})
			return err
		},
	},
	{
		name: "SQS",
		options: func(cfg aws.Config) (aws.HTTPClient, aws.Retryer) {
			o := sqs.NewFromConfig(cfg).Options()
			return o.HTTPClient, o.Retryer
		},
		request: func(ctx context.Context, cfg aws.Config) error {
			_, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String("https://sqs.us-east-1.amazonaws.com/1/events.fifo"), MessageBody: aws.String("{}")})
			return err
		},
	},
}

// TestClientOptions checks what each service's client made from Load
// (and ForLongPolls) is configured with, as the SDK resolved it.
func TestClientOptions(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	cfg, err := Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		for _, v := range []struct {
			name string
			cfg  aws.Config
			read time.Duration
		}{{"Load", cfg, ReadTimeout}, {"ForLongPolls", ForLongPolls(cfg), MaxLongPoll + ReadTimeout}} {
			hc, retryer := c.options(v.cfg)
			b, ok := hc.(*awshttp.BuildableClient)
			if !ok {
				t.Fatalf("%s, %s: HTTP client %T, want the SDK's BuildableClient", c.name, v.name, hc)
			}
			if read, ok := b.GetReadTimeout(); !ok || read != v.read {
				t.Errorf("%s, %s: read timeout %v (set %v), want %v", c.name, v.name, read, ok, v.read)
			}
			if d := b.GetDialer().Timeout; d != ConnectTimeout {
				t.Errorf("%s, %s: connect timeout %v, want %v", c.name, v.name, d, ConnectTimeout)
			}
			if d := b.GetTransport().TLSHandshakeTimeout; d != TLSTimeout {
				t.Errorf("%s, %s: TLS handshake timeout %v, want %v", c.name, v.name, d, TLSTimeout)
			}
			if n := retryer.MaxAttempts(); n != MaxAttempts {
				t.Errorf("%s, %s: %d attempts, want %d", c.name, v.name, n, MaxAttempts)
			}
		}
	}
}

// TestUnreachable sends each service's request, without a deadline,
// through a client of Load to an endpoint that accepts connections and
// never answers (internal/hungserver: a hung service or a proxy in
// between) and to a port that refuses connections (an endpoint that is
// not there). The first fails within MaxHungRequest after MaxAttempts
// attempts, each given up after ReadTimeout; the second at once. These
// are the bounds the functions' budgets rely on
// (https://docs.aws.amazon.com/sdk-for-go/v2/developer-guide/configure-http.html).
func TestUnreachable(t *testing.T) {
	hung, accepted := hungserver.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String()
	l.Close()
	const slack = 3 * time.Second // a busy machine's lateness
	for _, e := range []struct {
		name, endpoint string
		min, max       time.Duration
	}{
		{"hung", hung, MaxAttempts * ReadTimeout, MaxHungRequest + slack},
		{"refused", refused, 0, (MaxAttempts-1)*maxBackoff + slack},
	} {
		moto.PointSDK(t, e.endpoint)
		cfg, err := Load(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			err  error
			took time.Duration
		}
		results := make([]chan result, len(clients))
		before := accepted()
		for i, c := range clients { // at once: the hung case takes MaxHungRequest each
			results[i] = make(chan result, 1)
			go func() {
				start := time.Now()
				err := c.request(context.Background(), cfg)
				results[i] <- result{err, time.Since(start)}
			}()
		}
		for i, c := range clients {
			r := <-results[i]
			t.Logf("%s %s: failed after %v: %v", e.name, c.name, r.took.Round(time.Millisecond), r.err)
			if r.err == nil || r.took < e.min || r.took > e.max {
				t.Errorf("%s %s: %v after %v, want an error after %v to %v", e.name, c.name, r.err, r.took, e.min, e.max)
			}
			if e.name == "hung" {
				if rt, ok := errors.AsType[*awshttp.ResponseTimeoutError](r.err); !ok || rt.TimeoutDur != ReadTimeout {
					t.Errorf("%s %s: %v, want the read timeout's error", e.name, c.name, r.err)
				}
			}
		}
		if e.name == "hung" {
			if n := accepted() - before; n != MaxAttempts*len(clients) {
				t.Errorf("the hung endpoint accepted %d connections, want %d: %d attempts of each request", n, MaxAttempts*len(clients), MaxAttempts)
			}
		}
	}
}

// runtimeMains are the main packages whose processes are the runtime: the
// four functions and replay, which runs the Handler from Stripe's Events
// API.
var runtimeMains = []string{
	"stripetask/functions/webhook", "stripetask/functions/pay", "stripetask/functions/worker",
	"stripetask/functions/reconcile", "stripetask/cmd/replay",
}

// sdkConfig is the AWS SDK's configuration loader.
const sdkConfig = "github.com/aws/aws-sdk-go-v2/config"

// TestOnlyConfiguration fails when a package of the runtime loads an AWS
// SDK configuration of its own (config.LoadDefaultConfig, or a client
// built from a config.Config of its making): every one of its AWS clients
// must come from Load, which is this package's alone.
func TestOnlyConfiguration(t *testing.T) {
	self := "stripetask/internal/awsconfig"
	seen := map[string]bool{}
	var walk func(pkg string)
	walk = func(pkg string) {
		if seen[pkg] {
			return
		}
		seen[pkg] = true
		bp, err := build.Import(pkg, ".", 0)
		if err != nil {
			t.Fatalf("%s: %v", pkg, err)
		}
		for _, imp := range bp.Imports {
			if imp == sdkConfig && pkg != self {
				t.Errorf("%s imports %s: build its AWS clients from awsconfig.Load", pkg, sdkConfig)
			}
			if strings.HasPrefix(imp, "stripetask/") {
				walk(imp)
			}
		}
	}
	for _, m := range runtimeMains {
		walk(m)
	}
	if !seen[self] {
		t.Fatalf("no runtime package depends on %s: the walk is wrong", self)
	}
}

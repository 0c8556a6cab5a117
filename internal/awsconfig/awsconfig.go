// Package awsconfig loads the one AWS SDK configuration every AWS client of
// the functions is built from: Secrets Manager (the secrets), DynamoDB (the
// dedup store, the reconciler's state) and SQS (queue mode, the worker's
// local poll). It is the SDK's standard settings (region, credentials
// chain, AWS_ENDPOINT_URL and the per-service AWS_ENDPOINT_URL_<SERVICE>),
// with bounded connect, TLS handshake and read times and a short retry
// policy, so that an unreachable or hung service fails within an
// invocation rather than after it. No other package of the runtime calls
// the SDK's config.LoadDefaultConfig; a test holds them to it.
package awsconfig

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/logging"
)

// Limits of the requests of a client made from Load.
const (
	// MaxAttempts is how often a request is tried.
	MaxAttempts = 3
	// ConnectTimeout gives up on a connection not established within it
	// (an endpoint that drops the SYN, as a VPC without a route or an
	// interface endpoint for the service does); TLSTimeout on a TLS
	// handshake not done within it. Both are the SDK's in-Region defaults,
	// set here whatever the defaults mode (the SDK's own default is 30 s).
	ConnectTimeout = 1100 * time.Millisecond
	TLSTimeout     = 1100 * time.Millisecond
	// ReadTimeout gives up on a connection that delivers nothing for this
	// long (one that accepted the request and never answers); it resets
	// with every byte received.
	ReadTimeout = 2 * time.Second
	// MaxLongPoll is SQS's longest ReceiveMessage wait (WaitTimeSeconds
	// 20), for ForLongPolls.
	MaxLongPoll = 20 * time.Second
	baseBackoff = 25 * time.Millisecond  // the first retry waits up to twice this
	maxBackoff  = 200 * time.Millisecond // no retry waits longer
)

// MaxHungRequest is the longest a request of a client made from Load lasts
// against an endpoint that accepts connections and never answers, without
// a context deadline: every attempt silent for ReadTimeout, and the
// backoffs between them. Refused connections fail at once; dropped SYNs
// after MaxAttempts·ConnectTimeout and the backoffs.
const MaxHungRequest = MaxAttempts*ReadTimeout + (MaxAttempts-1)*maxBackoff

// Load returns the configuration: the SDK's in-Region defaults mode, with
// ConnectTimeout, TLSTimeout and ReadTimeout on its HTTP client, and each
// request tried at most MaxAttempts times with jittered backoffs under
// 200 ms. An unreachable service fails at once when connections are
// refused, and within MaxHungRequest when it never answers; a context's
// deadline cuts that short. One that answers, however slowly (a byte
// every second), is ended by the context's deadline alone: ReadTimeout
// resets with every byte.
//
// The SDK's own log lines are dropped (logging.Nop): with the client log
// mode off, its default, the SDK writes only warnings of its own, such as
// "failed to discard remaining HTTP response body" when a deadline ends a
// response's body, in plain text on the process's stderr, outside the
// functions' JSON lines and their redaction; the request's error, which
// the function's own line reports, says what went wrong.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithDefaultsMode(aws.DefaultsModeInRegion),
		config.WithLogger(logging.Nop{}),
		config.WithHTTPClient(httpClient(ReadTimeout)),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
				o.MaxBackoff = maxBackoff
				o.Backoff = retry.BackoffDelayerFunc(Backoff)
			})
		}),
	)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	return cfg, nil
}

// ForLongPolls returns cfg (from Load) for a client whose requests wait
// for an answer by design, SQS long polls: its read timeout is
// MaxLongPoll+ReadTimeout, the rest unchanged.
func ForLongPolls(cfg aws.Config) aws.Config {
	cfg.HTTPClient = httpClient(MaxLongPoll + ReadTimeout)
	return cfg
}

// httpClient is the HTTP client of Load's configuration, with the read
// timeout read.
func httpClient(read time.Duration) *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().
		WithDialerOptions(func(d *net.Dialer) { d.Timeout = ConnectTimeout }).
		WithTransportOptions(func(t *http.Transport) { t.TLSHandshakeTimeout = TLSTimeout }).
		WithReadTimeout(read)
}

// Backoff is exponential backoff with full jitter: before retry n (from 1)
// it waits a random time under min(2ⁿ·25 ms, 200 ms).
func Backoff(attempt int, _ error) (time.Duration, error) {
	limit := maxBackoff
	if attempt < 8 { // beyond, the shift overflows
		limit = min(baseBackoff<<attempt, maxBackoff)
	}
	return rand.N(limit), nil
}

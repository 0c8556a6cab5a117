// Package awsconfig loads the AWS SDK configuration the functions' AWS
// clients share (DynamoDB for dedup, SQS for queue mode): the SDK's
// standard settings (region, credentials chain, AWS_ENDPOINT_URL and the
// per-service AWS_ENDPOINT_URL_<SERVICE>), tuned so that an unreachable
// service fails within an invocation rather than after it.
package awsconfig

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
)

// Limits of the requests of a client made from Load.
const (
	// MaxAttempts is how often a request is tried.
	MaxAttempts = 3
	// ReadTimeout gives up on a connection that delivers nothing for this
	// long; it resets with every byte received.
	ReadTimeout = 2 * time.Second
	baseBackoff = 25 * time.Millisecond  // the first retry waits up to twice this
	maxBackoff  = 200 * time.Millisecond // no retry waits longer
)

// Load returns the configuration: the SDK's in-region defaults (connecting
// times out after 1.1 s), a connection silent for ReadTimeout given up, and
// each request tried at most MaxAttempts times with jittered backoffs under
// 200 ms. An unreachable service fails at once when connections are
// refused, and in about 6 s at worst; the context's deadline cuts that
// short.
func Load(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithDefaultsMode(aws.DefaultsModeInRegion),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithReadTimeout(ReadTimeout)),
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

// Backoff is exponential backoff with full jitter: before retry n (from 1)
// it waits a random time under min(2ⁿ·25 ms, 200 ms).
func Backoff(attempt int, _ error) (time.Duration, error) {
	limit := maxBackoff
	if attempt < 8 { // beyond, the shift overflows
		limit = min(baseBackoff<<attempt, maxBackoff)
	}
	return rand.N(limit), nil
}

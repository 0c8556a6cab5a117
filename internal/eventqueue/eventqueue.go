// Package eventqueue hands work to an Amazon SQS FIFO queue: one message per
// piece of work, in a message group (work of one group is received one at
// a time, in the order sent) with a deduplication id (a second send of one
// id within SQS's five-minute window is dropped). It knows nothing of what
// the messages say; the webhook sends authenticated Stripe events, grouped
// by their data.object, and the worker function receives them.
package eventqueue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MaxMessageBytes is the largest message body sent: 256 KiB, the limit
// every SQS queue accepts (the smallest maximum a queue can be set to above
// the default is no concern of the sender's).
const MaxMessageBytes = 256 << 10

// maxIDLength is SQS's limit on MessageGroupId and MessageDeduplicationId.
const maxIDLength = 128

// Errors of Send.
var (
	// ErrTooLarge reports a body over MaxMessageBytes: it was not sent.
	ErrTooLarge = errors.New("eventqueue: message too large for SQS")
	// ErrUnavailable reports that SQS did not accept the message: it may
	// or may not be queued, and sending it again is safe within the
	// deduplication window.
	ErrUnavailable = errors.New("eventqueue: SQS unavailable")
)

// SendAPI is the part of the SQS client the queue uses; *sqs.Client
// implements it.
type SendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Queue sends messages to one FIFO queue.
type Queue struct {
	api SendAPI
	url string
}

// New returns a Queue sending to the queue at url through api.
func New(api SendAPI, url string) *Queue { return &Queue{api: api, url: url} }

// FromConfig returns a Queue for url using the AWS SDK's standard
// configuration (region, credentials, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_SQS), trying a send at most three times with short
// backoffs and giving up on a connection silent for 2 s, so that an
// unreachable SQS fails within the invocation. The context's deadline cuts
// that short.
func FromConfig(ctx context.Context, url string) (*Queue, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithDefaultsMode(aws.DefaultsModeInRegion),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(5*time.Second)),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 200 * time.Millisecond
				o.Backoff = retry.BackoffDelayerFunc(func(attempt int, _ error) (time.Duration, error) {
					return rand.N(min(25*time.Millisecond<<attempt, 200*time.Millisecond)), nil
				})
			})
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("eventqueue: loading AWS configuration: %w", err)
	}
	return New(sqs.NewFromConfig(cfg), url), nil
}

// URL returns the queue's URL.
func (q *Queue) URL() string { return q.url }

// Fits reports whether body is small enough to be sent.
func (q *Queue) Fits(body []byte) bool { return len(body) <= MaxMessageBytes }

// Send sends body in the message group group, deduplicated by dedupID, and
// returns SQS's message id once SQS has accepted it. Ids longer than SQS's
// 128 characters are cut to them (Stripe's are far shorter). Errors wrap
// ErrTooLarge or ErrUnavailable.
func (q *Queue) Send(ctx context.Context, body []byte, group, dedupID string) (string, error) {
	if len(body) > MaxMessageBytes {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxMessageBytes)
	}
	if group == "" || dedupID == "" {
		return "", errors.New("eventqueue: a FIFO message needs a group and a deduplication id")
	}
	out, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(q.url),
		MessageBody:            aws.String(string(body)),
		MessageGroupId:         aws.String(clip(group)),
		MessageDeduplicationId: aws.String(clip(dedupID)),
	})
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnavailable, q.url, err)
	}
	return aws.ToString(out.MessageId), nil
}

// clip keeps an id within SQS's 128 characters.
func clip(id string) string {
	if len(id) > maxIDLength {
		return id[:maxIDLength]
	}
	return id
}

// Package eventqueue hands work to an Amazon SQS FIFO queue: one message per
// piece of work, in a message group (work of one group is received one at
// a time, in the order sent) with a deduplication id (a second send of one
// id within SQS's five-minute window is dropped). It knows nothing of what
// the messages say; the webhook sends authenticated Stripe events, grouped
// by their data.object, and the worker function receives them.
package eventqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"unicode/utf8"

	"stripetask/internal/awsconfig"

	"github.com/aws/aws-sdk-go-v2/aws"
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
	// ErrInvalidBody reports a body holding characters SQS refuses (see
	// Fits): it was not sent.
	ErrInvalidBody = errors.New("eventqueue: message holds characters SQS refuses")
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
// AWS_ENDPOINT_URL_SQS) as awsconfig.Load tunes it, so that an unreachable
// SQS fails within the invocation: at once when connections are refused,
// in about 6 s at worst. The context's deadline cuts that short.
func FromConfig(ctx context.Context, url string) (*Queue, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventqueue: %w", err)
	}
	return New(sqs.NewFromConfig(cfg), url), nil
}

// URL returns the queue's URL.
func (q *Queue) URL() string { return q.url }

// Fits reports whether SQS accepts body as a message: at most
// MaxMessageBytes, and valid UTF-8 made only of the characters SQS allows
// (tab, line feed, carriage return, U+0020 to U+D7FF, U+E000 to U+FFFD and
// U+10000 to U+10FFFF). SQS refuses any other body, every time: sending it
// would fail forever rather than be unavailable for a while.
func (q *Queue) Fits(body []byte) bool {
	return len(body) <= MaxMessageBytes && sendable(body)
}

// sendable reports whether body holds only characters SQS accepts in a
// message.
func sendable(body []byte) bool {
	for i := 0; i < len(body); {
		c := body[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(body[i:])
		if (r == utf8.RuneError && size == 1) || r == 0xFFFE || r == 0xFFFF {
			return false // invalid UTF-8 (surrogates included), or a non-character SQS refuses
		}
		i += size
	}
	return true
}

// Send sends body in the message group group, deduplicated by dedupID, and
// returns SQS's message id once SQS has accepted it. An id longer than
// SQS's 128 characters is replaced by its SHA-256 (Stripe's are far
// shorter), so that two long ids stay distinct. Errors wrap
// ErrTooLarge or ErrInvalidBody (for a body Fits refuses) or
// ErrUnavailable.
func (q *Queue) Send(ctx context.Context, body []byte, group, dedupID string) (string, error) {
	if len(body) > MaxMessageBytes {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, len(body), MaxMessageBytes)
	}
	if !sendable(body) {
		return "", ErrInvalidBody
	}
	if group == "" || dedupID == "" {
		return "", errors.New("eventqueue: a FIFO message needs a group and a deduplication id")
	}
	out, err := q.api.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:               aws.String(q.url),
		MessageBody:            aws.String(string(body)),
		MessageGroupId:         aws.String(fitID(group)),
		MessageDeduplicationId: aws.String(fitID(dedupID)),
	})
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrUnavailable, q.url, err)
	}
	return aws.ToString(out.MessageId), nil
}

// fitID keeps an id within SQS's 128 characters: a longer one becomes
// "sha256:" and its digest in hex. Cutting it instead would give two ids
// with a common prefix one deduplication id, and SQS would drop the second
// message as a duplicate of the first.
func fitID(id string) string {
	if len(id) <= maxIDLength {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Package queueworker runs the Stripe events an SQS FIFO queue delivers,
// the queue the webhook fills in queue mode, through the event pipeline:
// the queue is the source, the pipeline does the rest (dedup, the method,
// the log line and metrics) as for a webhook delivery.
//
// A batch holds messages of one or more message groups (one group per
// Stripe object). Groups run in parallel; the messages of one group run
// one at a time, in the order the queue delivered them. When a message
// fails, it and the messages after it in its group are reported as batch
// item failures without running, so that SQS delivers them again in their
// order: an object's events never run out of order or at once.
package queueworker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"stripetask/internal/pipeline"
)

// source is the queue as the pipeline sees it.
var source = &pipeline.Source{Name: "queue"}

// Succeeded reports whether a message whose event ended with outcome is
// done: the worker's mapping of the outcome's disposition. Done is deleted
// from the queue; Retry is a batch item failure, delivered again after the
// visibility timeout until the queue's maxReceiveCount sends it to the
// dead-letter queue; Refused is a batch item failure too, so that an input
// no retry mends ends in the dead-letter queue, where someone sees it,
// rather than being dropped.
func Succeeded(o pipeline.Outcome) bool { return o.Done() }

// Worker runs batches of queue messages through a pipeline.
type Worker struct {
	p   *pipeline.Pipeline
	now func() time.Time
	// Report, if set, is told the result of every message that ran. The
	// groups of a batch run at once, so it is called concurrently.
	Report func(msg events.SQSMessage, res pipeline.Result)
}

// reportFunc is told the result of a message that ran.
type reportFunc func(msg events.SQSMessage, res pipeline.Result)

// New returns a Worker running messages through p, a pipeline without a
// queue of its own.
func New(p *pipeline.Pipeline) *Worker { return &Worker{p: p, now: time.Now} }

// Handle runs one batch, as Lambda's SQS event source mapping delivers it
// with ReportBatchItemFailures on, and returns the messages that failed.
// Its error is always nil: failures are per message. Once ctx has ended
// (the invocation's deadline), no further message starts: those left are
// reported as failures, to be delivered again.
func (w *Worker) Handle(ctx context.Context, batch events.SQSEvent) (events.SQSEventResponse, error) {
	return w.handle(ctx, batch, w.Report), nil
}

// handle runs one batch, telling report (if not nil) the result of each
// message that ran, and returns the messages that failed.
func (w *Worker) handle(ctx context.Context, batch events.SQSEvent, report reportFunc) events.SQSEventResponse {
	var (
		order  []string // group ids, in the order first seen
		groups = map[string][]events.SQSMessage{}
	)
	for _, m := range batch.Records {
		g := m.Attributes["MessageGroupId"]
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], m)
	}
	var (
		mu     sync.Mutex
		failed = map[string]bool{}
		wg     sync.WaitGroup
	)
	for _, g := range order {
		wg.Go(func() {
			for i, m := range groups[g] {
				if ctx.Err() != nil || !w.run(ctx, m, report) {
					mu.Lock()
					for _, rest := range groups[g][i:] {
						failed[rest.MessageId] = true
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	var res events.SQSEventResponse
	for _, m := range batch.Records { // in the batch's order
		if failed[m.MessageId] {
			res.BatchItemFailures = append(res.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
		}
	}
	return res
}

// run runs one message and reports whether it succeeded.
func (w *Worker) run(ctx context.Context, m events.SQSMessage, report reportFunc) bool {
	res := w.p.Handle(ctx, pipeline.Input{Source: source, Body: []byte(m.Body), RequestID: m.MessageId, Received: w.now()})
	if report != nil {
		report(m, res)
	}
	return Succeeded(res.Outcome)
}

// ReceiveAPI is the part of the SQS client Poll uses; *sqs.Client
// implements it.
type ReceiveAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, opts ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, opts ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
}

// Poll is the worker of local development: it long-polls the queue at url
// and runs what it receives as Lambda would, deleting the messages that
// succeeded (a failed one comes back after its visibility timeout), and
// writes one line per message to out: "<message id> <event id> <type>
// <outcome>" (also to Report, if set). It returns when ctx is done, or with
// an error when the queue cannot be read. Poll may run beside Handle and
// other Polls.
func (w *Worker) Poll(ctx context.Context, api ReceiveAPI, url string, out io.Writer, log *slog.Logger) error {
	var mu sync.Mutex // the groups of a batch report at once; lines stay whole
	report := func(m events.SQSMessage, res pipeline.Result) {
		id, typ := "-", "-"
		if res.Event != nil {
			id, typ = res.Event.ID, string(res.Event.Type)
		}
		mu.Lock()
		fmt.Fprintf(out, "%s %s %s %s\n", m.MessageId, id, typ, res.Outcome)
		mu.Unlock()
		if w.Report != nil {
			w.Report(m, res)
		}
	}
	for ctx.Err() == nil {
		got, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(url),
			MaxNumberOfMessages:         10,
			WaitTimeSeconds:             20,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("queueworker: receiving from %s: %w", url, err)
		}
		batch := events.SQSEvent{}
		handles := map[string]string{}
		for _, m := range got.Messages {
			id := aws.ToString(m.MessageId)
			handles[id] = aws.ToString(m.ReceiptHandle)
			batch.Records = append(batch.Records, events.SQSMessage{MessageId: id, ReceiptHandle: aws.ToString(m.ReceiptHandle), Body: aws.ToString(m.Body), Attributes: m.Attributes})
		}
		if len(batch.Records) == 0 {
			continue
		}
		res := w.handle(ctx, batch, report)
		failed := map[string]bool{}
		for _, f := range res.BatchItemFailures {
			failed[f.ItemIdentifier] = true
		}
		for id, h := range handles {
			if failed[id] {
				continue
			}
			if _, err := api.DeleteMessage(context.WithoutCancel(ctx), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: aws.String(h)}); err != nil {
				// SQS's error: the request holds the queue's URL and a
				// receipt handle, no secret, and the SDK's errors quote
				// neither the credentials nor the signature.
				log.Error("queueworker: deleting a handled message failed; it will be delivered again and answered duplicate", "message_id", id, "error", err.Error())
			}
		}
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"stripetask/handler"
	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup"
	"stripetask/internal/eventqueue"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
)

// workerMain runs the worker function as its binary does, with the shipped
// Handler.
func workerMain(ctx context.Context, p bootstrap.Process) int {
	return bootstrap.Worker(ctx, handler.Handler{}, p)
}

// TestArguments runs the worker outside Lambda with arguments other than a
// usable `poll`: it prints its usage or names the missing setting, and
// exits 2 (0 for help), before starting anything.
func TestArguments(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{"no arguments", nil, nil, 2, "Usage:"},
		{"help", []string{"help"}, nil, 0, "worker poll"},
		{"unknown command", []string{"serve"}, nil, 2, "Usage:"},
		{"poll without QUEUE_URL", []string{"poll"}, map[string]string{"STRIPE_KEY": "sk_test_worker"}, 2, "set QUEUE_URL"},
		{"poll with a blank QUEUE_URL", []string{"poll"}, map[string]string{"QUEUE_URL": "  "}, 2, "set QUEUE_URL"},
		{"poll in queue mode without QUEUE_URL", []string{"poll"}, map[string]string{"PROCESSING_MODE": "queue"}, 2, "set QUEUE_URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr proctest.Buffer
			code := workerMain(t.Context(), proctest.Process(tt.env, tt.args, &stdout, &stderr))
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tt.wantCode, tt.wantStderr)
			}
			if stdout.String() != "" {
				t.Fatalf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// fixtureBody returns the Stripe event inside an API Gateway fixture of
// events/.
func fixtureBody(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../events", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Body string `json:"body"`
	}
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(e.Body)
}

// TestPoll runs `worker poll` on a FIFO queue on moto holding three events
// as the webhook queues them: it prints one line per message, "<message
// id> <event id> <type> <outcome>", deletes the messages, and exits 0 when
// interrupted.
func TestPoll(t *testing.T) {
	srv := moto.Start(t)
	ctx := t.Context()
	cfg := srv.Config(t)
	if err := dedup.CreateTable(ctx, dynamodb.NewFromConfig(cfg), "events"); err != nil {
		t.Fatal(err)
	}
	api := sqs.NewFromConfig(cfg)
	created, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("events.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(created.QueueUrl)
	q, err := eventqueue.FromConfig(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	type sent struct{ id, typ, outcome, messageID string }
	events := []sent{
		{typ: "charge.succeeded", outcome: "handled"},
		{typ: "invoice.payment_failed", outcome: "handled"},
		{typ: "customer.created", outcome: "ignored"}, // no method: the webhook would not queue it, the worker acknowledges it
	}
	for i := range events {
		e := &events[i]
		body := fixtureBody(t, e.typ)
		var ev struct {
			ID   string `json:"id"`
			Data struct {
				Object struct {
					ID string `json:"id"`
				} `json:"object"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		e.id = ev.ID
		if e.messageID, err = q.Send(ctx, body, ev.Data.Object.ID, ev.ID); err != nil {
			t.Fatal(err)
		}
	}

	var stdout, stderr proctest.Buffer
	env := map[string]string{"STRIPE_KEY": "sk_test_worker", "QUEUE_URL": url, "DEDUP_TABLE": "events", "AWS_REGION": "us-east-1"}
	pollCtx, stop := context.WithCancel(ctx)
	defer stop()
	exited := make(chan int, 1)
	go func() { exited <- workerMain(pollCtx, proctest.Process(env, []string{"poll"}, &stdout, &stderr)) }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(stdout.String(), "\n") < len(events) || depth(t, api, url) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("worker poll did not run and delete the messages in 20 s; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("worker poll did not stop within 10 s of the interrupt")
	}
	line := regexp.MustCompile(`^(\S+) (\S+) (\S+) (\S+)$`)
	got := map[string]string{}
	for l := range strings.SplitSeq(strings.TrimSpace(stdout.String()), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not \"<message id> <event id> <type> <outcome>\"", l)
		}
		got[m[1]] = strings.Join(m[2:], " ")
	}
	if len(got) != len(events) {
		t.Fatalf("%d lines for %d messages:\n%s", len(got), len(events), stdout.String())
	}
	for _, e := range events {
		if want := fmt.Sprintf("%s %s %s", e.id, e.typ, e.outcome); got[e.messageID] != want {
			t.Errorf("message %s: %q, want %q", e.messageID, got[e.messageID], want)
		}
	}
	if !strings.Contains(stderr.String(), "worker: polling "+url) {
		t.Errorf("stderr does not say which queue it polls:\n%s", stderr.String())
	}
	if n := strings.Count(stderr.String(), `"source":"queue"`); n != len(events) {
		t.Errorf("%d delivery lines from the queue in the log, want %d", n, len(events))
	}
}

// depth returns how many messages the queue at url holds, visible or in
// flight.
func depth(t *testing.T, api *sqs.Client, url string) int {
	t.Helper()
	out, err := api.GetQueueAttributes(t.Context(), &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		i, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("queue attribute %q: %v", v, err)
		}
		n += i
	}
	return n
}

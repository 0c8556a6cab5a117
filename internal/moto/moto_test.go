package moto

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// TestRestart checks that Down stops the server and Up starts an empty one
// on the same URL.
func TestRestart(t *testing.T) {
	s := Start(t)
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", s.URL()+"/", strings.NewReader(`{"Name":"s","SecretString":"{}"}`))
		req.Header.Set("X-Amz-Target", "secretsmanager.CreateSecret")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=x")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		buf := make([]byte, 300)
		n, _ := resp.Body.Read(buf)
		b.Write(buf[:n])
		return resp.StatusCode, b.String()
	}
	if code, body := post(); code != 200 {
		t.Fatalf("create: %d %s", code, body)
	}
	s.Down()
	if code, _ := post(); code != 0 {
		t.Fatalf("server still answers after Down: %d", code)
	}
	s.Up()
	if code, body := post(); code != 200 {
		t.Fatalf("create after restart: %d %s", code, body)
	}
}

// TestSQSLongPoll checks that a long poll on an empty queue holds neither
// the other requests nor its caller once a message comes: a send made
// while it waits returns at once, and the poll returns with the message.
func TestSQSLongPoll(t *testing.T) {
	s := Start(t)
	s.Env(t)
	ctx := t.Context()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	api := sqs.NewFromConfig(cfg)
	q, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("poll.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	type received struct {
		n   int
		err error
	}
	polled := make(chan received, 1)
	go func() {
		out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 10})
		if err != nil {
			polled <- received{err: err}
			return
		}
		polled <- received{n: len(out.Messages)}
	}()
	time.Sleep(300 * time.Millisecond) // the poll is waiting
	began := time.Now()
	if _, err := api.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("hello"), MessageGroupId: aws.String("g"), MessageDeduplicationId: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("the send waited %s for the long poll", took.Round(time.Millisecond))
	}
	select {
	case r := <-polled:
		if r.err != nil || r.n != 1 {
			t.Fatalf("long poll: %d messages, %v; want the message sent", r.n, r.err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the long poll did not return the message within 5 s")
	}
}

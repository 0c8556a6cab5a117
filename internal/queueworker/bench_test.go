package queueworker_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"stripetask/internal/fixture"
	"stripetask/internal/transport"
)

// Settings of BenchmarkQueueVsSync.
const (
	// benchDeliveries is the number of deliveries of one op, per mode.
	benchDeliveries = 200
	// benchMethodTime is how long the method takes.
	benchMethodTime = 2 * time.Second
	// benchSyncConcurrency is how many sync-mode deliveries are in flight
	// at once: concurrent, only to keep the run short (each waits for its
	// own 2 s method, nothing else).
	benchSyncConcurrency = 100
	// benchInvocationTimeout is the webhook's Lambda timeout
	// (template.yaml), the deadline of each delivery's context.
	benchInvocationTimeout = 20 * time.Second
	// benchPurgeEvery is how many queue-mode deliveries the queue holds at
	// most: moto_server's SendMessage slows down as its queue grows (about
	// 0.15 ms per message held), SQS's does not.
	benchPurgeEvery = 20
)

// BenchmarkQueueVsSync measures what Stripe waits for, the webhook's answer
// time (API Gateway event in, response out, as in Lambda), with a method
// that takes 2 s, in both modes in the same run:
//
//   - mode=queue: the webhook sends each event to a FIFO queue on
//     moto_server and answers queued; the method does not run (no worker
//     runs: the answer does not wait for one). Deliveries go one at a
//     time, so each measures one SendMessage round trip, not a queue of
//     them behind moto_server's one-request-at-a-time lock; the queue is
//     purged every 20 deliveries, between two, since moto_server's sends
//     slow down as its queue grows.
//   - mode=sync: the webhook runs the method and answers handled, 100
//     deliveries at a time.
//
// Neither uses a dedup table. An op is 200 deliveries; the metrics are the
// median and the 99th percentile of their answer times, in milliseconds,
// over every delivery of the benchmark's ops (ns/op is the time of a
// round). scripts/bench-queue prints them and the queue/sync ratios.
func BenchmarkQueueVsSync(b *testing.B) {
	w := newWorld(b)
	w.store = nil // both modes without a dedup table
	w.rec.hold = benchMethodTime
	url, _ := w.createQueues(b, "bench", 3)
	purge := func(i int) error {
		if i%benchPurgeEvery != 0 {
			return nil
		}
		if _, err := w.sqs.PurgeQueue(b.Context(), &sqs.PurgeQueueInput{QueueUrl: aws.String(url)}); err != nil {
			return fmt.Errorf("purging the queue: %w", err)
		}
		return nil
	}
	modes := []struct {
		name        string
		h           http.Handler
		concurrency int
		want        string
		prepare     func(i int) error
	}{
		{"queue", w.webhook(b, url), 1, `{"status":"queued"}`, purge},
		{"sync", w.webhookWith(b, nil), benchSyncConcurrency, `{"status":"handled"}`, nil},
	}
	round := 0
	for _, m := range modes {
		b.Run("mode="+m.name, func(b *testing.B) {
			var all []time.Duration
			for b.Loop() {
				round++
				lat, err := deliverAll(b.Context(), m.h, benchDeliveries, m.concurrency, m.want, m.prepare, func(i int) []byte {
					id := fmt.Sprintf("evt_bench_%s_%d_%d", m.name, round, i)
					return subEvent(id, fmt.Sprintf("sub_bench_%d", i%20), 1700000000+int64(i), nil)
				})
				if err != nil {
					b.Fatal(err)
				}
				all = append(all, lat...)
			}
			b.ReportMetric(percentile(all, 50).Seconds()*1000, "median-ms")
			b.ReportMetric(percentile(all, 99).Seconds()*1000, "p99-ms")
		})
	}
}

// deliverAll delivers n events (body(i) for the i-th) to h through the
// Lambda adapter, concurrency at a time, each with an invocation deadline,
// and returns each delivery's answer time. prepare, if set, is called
// before the i-th delivery, untimed, by the goroutine about to make it. An
// answer other than 200 want is an error.
func deliverAll(ctx context.Context, h http.Handler, n, concurrency int, want string, prepare func(i int) error, body func(i int) []byte) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for i := range next {
				if prepare != nil {
					if errs[i] = prepare(i); errs[i] != nil {
						continue
					}
				}
				e := apiGatewayEvent(body(i))
				began := time.Now()
				invocation, cancel := context.WithTimeout(ctx, benchInvocationTimeout)
				res, err := transport.ServeV2(invocation, h, e)
				lat[i] = time.Since(began)
				cancel()
				switch {
				case err != nil:
					errs[i] = fmt.Errorf("delivery %d: %w", i, err)
				case res.StatusCode != http.StatusOK || strings.TrimSpace(res.Body) != want:
					errs[i] = fmt.Errorf("delivery %d: %d %s, want 200 %s", i, res.StatusCode, res.Body, want)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return lat, nil
}

// apiGatewayEvent is the HTTP API (payload 2.0) event of a delivery of
// body, signed now.
func apiGatewayEvent(body []byte) *events.APIGatewayV2HTTPRequest {
	var e events.APIGatewayV2HTTPRequest
	e.Version = "2.0"
	e.RawPath = "/webhook"
	e.Headers = map[string]string{
		"content-type":     "application/json; charset=utf-8",
		"stripe-signature": fixture.Sign(body, testSecret, time.Now()),
	}
	e.RequestContext.HTTP.Method = http.MethodPost
	e.RequestContext.HTTP.Path = "/webhook"
	e.RequestContext.RequestID = "bench"
	e.Body = string(body)
	return &e
}

// percentile returns the p-th percentile of ds (nearest rank).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// TestPercentile checks the nearest-rank percentiles of the benchmark.
func TestPercentile(t *testing.T) {
	ds := make([]time.Duration, 200)
	for i := range ds {
		ds[i] = time.Duration(200-i) * time.Millisecond // 1..200 ms, reversed
	}
	tests := []struct {
		p    float64
		want time.Duration
	}{{50, 100 * time.Millisecond}, {99, 198 * time.Millisecond}, {100, 200 * time.Millisecond}, {0, time.Millisecond}}
	for _, tt := range tests {
		if got := percentile(ds, tt.p); got != tt.want {
			t.Errorf("p%v = %s, want %s", tt.p, got, tt.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("of nothing: %s, want 0", got)
	}
}

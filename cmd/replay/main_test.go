package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/dedup"
	"stripetask/internal/fakestripe"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/testlog"
)

// The tests read events from fakestripe, not stripe-mock: stripe-mock
// answers GET /v1/events with its one fixture event whatever the filters
// (created[...], type, types[]) and GET /v1/events/{id} with that fixture
// whatever the id, so neither a window, a type filter, the order of the
// events nor an unknown id could be checked against it. fakestripe serves
// the Events API as Stripe documents it. The dedup table (DynamoDB) and
// SECRETS_ID (Secrets Manager) are on a real moto_server: `make tools`
// provides it, and without it the tests fail, saying so.

// runLog records the events the test Handler ran, in order. Every copy of
// the Handler shares it.
type runLog struct {
	mu  sync.Mutex
	ids []string
}

func (r *runLog) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = append(r.ids, id)
}

func (r *runLog) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.ids)
}

// testHandler is the Handler of the tests: it records each run, and a
// charge whose metadata says fail makes its method fail. customer.created
// and invoice.created have no method: they are ignored.
type testHandler struct {
	dispatch.Env
	runs *runLog
}

// ChargeSucceeded records the run; it fails for metadata fail=yes.
func (h *testHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.runs.add(h.Event.ID)
	if c.Metadata["fail"] == "yes" {
		return errors.New("the charge says fail")
	}
	return nil
}

// InvoicePaid records the run.
func (h *testHandler) InvoicePaid(ctx context.Context, inv *stripe.Invoice) error {
	h.runs.add(h.Event.ID)
	return nil
}

// InvoicePaymentFailed records the run.
func (h *testHandler) InvoicePaymentFailed(ctx context.Context, inv *stripe.Invoice) error {
	h.runs.add(h.Event.ID)
	return nil
}

// startStripe starts a fakestripe holding the tests' events, created
// relative to now, added in no particular order, and returns it with the
// process environment that points the command at it.
func startStripe(t *testing.T, now time.Time) (*fakestripe.Server, map[string]string) {
	t.Helper()
	ago := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	charge := func(id, meta string) string {
		return fmt.Sprintf(`{"id":%q,"object":"charge","amount":1000,"currency":"usd","metadata":{%s}}`, id, meta)
	}
	invoice := func(id string) string { return fmt.Sprintf(`{"id":%q,"object":"invoice","amount_due":1000}`, id) }
	fake := fakestripe.Start(t)
	fake.Add(t,
		fakestripe.Event("evt_inv_failed", "invoice.payment_failed", ago(30*time.Minute), invoice("in_2")),
		fakestripe.Event("evt_old", "charge.succeeded", ago(3*time.Hour), charge("ch_old", "")),
		fakestripe.Event("evt_fail", "charge.succeeded", ago(10*time.Minute), charge("ch_fail", `"fail":"yes"`)),
		fakestripe.Event("evt_ch", "charge.succeeded", ago(90*time.Minute), charge("ch_1", "")),
		fakestripe.Event("evt_inv_created", "invoice.created", ago(20*time.Minute), invoice("in_3")),
		fakestripe.Event("evt_inv_paid", "invoice.paid", ago(100*time.Minute), invoice("in_1")),
		fakestripe.Event("evt_cus", "customer.created", ago(60*time.Minute), `{"id":"cus_1","object":"customer"}`),
	)
	return fake, map[string]string{"STRIPE_KEY": "sk_test_replay_0123456789", "STRIPE_API_BASE": fake.URL()}
}

// result is what one run of the command left.
type result struct {
	code           int
	stdout, stderr string
}

// replay runs the command with args, env as its whole environment and a
// testHandler recording into runs.
func replay(t *testing.T, env map[string]string, runs *runLog, args ...string) result {
	t.Helper()
	var stdout, stderr testlog.Buffer
	code := Run(t.Context(), testHandler{runs: runs}, proctest.Process(env, args, &stdout, &stderr))
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// lines splits the output into lines.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// deliveries returns the pipeline's log lines ("msg":"delivery") in
// stderr; the other lines (warnings in plain text) are skipped.
func deliveries(t *testing.T, stderr string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines(stderr) {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stderr line is not JSON: %v: %s", err, l)
		}
		if m["msg"] == "delivery" {
			out = append(out, m)
		}
	}
	return out
}

// checkResult compares a run's exit status and stdout with the wanted
// ones, and checks that every event printed with a type has its one
// delivery line from the source replay, in the same order.
func checkResult(t *testing.T, res result, code int, stdout []string) {
	t.Helper()
	if res.code != code || !slices.Equal(lines(res.stdout), stdout) {
		t.Fatalf("exit %d, stdout:\n%s\nwant exit %d, stdout:\n%s\nstderr:\n%s",
			res.code, res.stdout, code, strings.Join(stdout, "\n"), res.stderr)
	}
	var want, got []string
	for _, l := range stdout[:len(stdout)-1] {
		if f := strings.Fields(l); f[1] != "-" {
			want = append(want, f[0]+" "+f[2])
		}
	}
	for _, d := range deliveries(t, res.stderr) {
		if d["source"] != "replay" {
			t.Errorf("delivery line with source %v, want replay: %v", d["source"], d)
		}
		got = append(got, fmt.Sprint(d["event_id"], " ", d["outcome"]))
	}
	if !slices.Equal(got, want) {
		t.Errorf("delivery lines on stderr %q, want %q", got, want)
	}
}

// TestReplay runs events by id and by -since/-type, without a dedup table.
func TestReplay(t *testing.T) {
	now := time.Now()
	fake, env := startStripe(t, now)
	tests := []struct {
		name   string
		args   []string
		down   bool // Stripe's API fails every request
		code   int
		stdout []string
		runs   []string
		stderr string // in stderr
	}{
		{
			name: "ids, run oldest first",
			args: []string{"evt_inv_failed", "evt_ch", "evt_inv_paid"},
			stdout: []string{
				"evt_inv_paid invoice.paid handled",
				"evt_ch charge.succeeded handled",
				"evt_inv_failed invoice.payment_failed handled",
				"3 events: 3 handled, 0 duplicate, 0 ignored, 0 failed",
			},
			runs: []string{"evt_inv_paid", "evt_ch", "evt_inv_failed"},
		},
		{
			name: "an id given twice runs once",
			args: []string{"evt_ch", "evt_ch"},
			stdout: []string{
				"evt_ch charge.succeeded handled",
				"1 events: 1 handled, 0 duplicate, 0 ignored, 0 failed",
			},
			runs: []string{"evt_ch"},
		},
		{
			name: "an unknown id fails, the others run",
			args: []string{"evt_ch", "evt_nope"},
			code: 1,
			stdout: []string{
				"evt_nope - not_found",
				"evt_ch charge.succeeded handled",
				"2 events: 1 handled, 0 duplicate, 0 ignored, 1 failed",
			},
			runs:   []string{"evt_ch"},
			stderr: `"event_id":"evt_nope","outcome":"not_found"`,
		},
		{
			name: "an event without a method is ignored",
			args: []string{"evt_cus"},
			stdout: []string{
				"evt_cus customer.created ignored",
				"1 events: 0 handled, 0 duplicate, 1 ignored, 0 failed",
			},
		},
		{
			name: "a method that fails",
			args: []string{"evt_fail", "evt_ch"},
			code: 1,
			stdout: []string{
				"evt_ch charge.succeeded handled",
				"evt_fail charge.succeeded handler_error",
				"2 events: 1 handled, 0 duplicate, 0 ignored, 1 failed",
			},
			runs:   []string{"evt_ch", "evt_fail"},
			stderr: "the charge says fail",
		},
		{
			name: "Stripe failing: fetch_failed",
			args: []string{"evt_ch"},
			down: true,
			code: 1,
			stdout: []string{
				"evt_ch - fetch_failed",
				"1 events: 0 handled, 0 duplicate, 0 ignored, 1 failed",
			},
			stderr: `"outcome":"fetch_failed"`,
		},
		{
			name: "-since: every type, oldest first, none older",
			args: []string{"-since", "2h"},
			code: 1,
			stdout: []string{
				"evt_inv_paid invoice.paid handled",
				"evt_ch charge.succeeded handled",
				"evt_cus customer.created ignored",
				"evt_inv_failed invoice.payment_failed handled",
				"evt_inv_created invoice.created ignored",
				"evt_fail charge.succeeded handler_error",
				"6 events: 3 handled, 0 duplicate, 2 ignored, 1 failed",
			},
			runs: []string{"evt_inv_paid", "evt_ch", "evt_inv_failed", "evt_fail"},
		},
		{
			name: "-since with a prefix type",
			args: []string{"-since", "2h", "-type", "invoice.*"},
			stdout: []string{
				"evt_inv_paid invoice.paid handled",
				"evt_inv_failed invoice.payment_failed handled",
				"evt_inv_created invoice.created ignored",
				"3 events: 2 handled, 0 duplicate, 1 ignored, 0 failed",
			},
			runs: []string{"evt_inv_paid", "evt_inv_failed"},
		},
		{
			name: "-since with exact types",
			args: []string{"-since", "2h", "-type", "customer.created", "-type", "invoice.paid"},
			stdout: []string{
				"evt_inv_paid invoice.paid handled",
				"evt_cus customer.created ignored",
				"2 events: 1 handled, 0 duplicate, 1 ignored, 0 failed",
			},
			runs: []string{"evt_inv_paid"},
		},
		{
			name: "-since a prefix and an exact type together",
			args: []string{"-since", "2h", "-type", "charge.succeeded", "-type", "invoice.*"},
			code: 1,
			stdout: []string{
				"evt_inv_paid invoice.paid handled",
				"evt_ch charge.succeeded handled",
				"evt_inv_failed invoice.payment_failed handled",
				"evt_inv_created invoice.created ignored",
				"evt_fail charge.succeeded handler_error",
				"5 events: 3 handled, 0 duplicate, 1 ignored, 1 failed",
			},
			runs: []string{"evt_inv_paid", "evt_ch", "evt_inv_failed", "evt_fail"},
		},
		{
			name: "-since an RFC 3339 time",
			args: []string{"-since", now.Add(-95 * time.Minute).UTC().Format(time.RFC3339), "-type", "charge.succeeded"},
			code: 1,
			stdout: []string{
				"evt_ch charge.succeeded handled",
				"evt_fail charge.succeeded handler_error",
				"2 events: 1 handled, 0 duplicate, 0 ignored, 1 failed",
			},
			runs: []string{"evt_ch", "evt_fail"},
		},
		{
			name:   "-since with Stripe failing: the listing fails",
			args:   []string{"-since", "2h"},
			down:   true,
			code:   1,
			stdout: []string{"0 events: 0 handled, 0 duplicate, 0 ignored, 0 failed"},
			stderr: "replay: listing the events: stripeevents: listing events created",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake.SetDown(tt.down)
			defer fake.SetDown(false)
			runs := &runLog{}
			res := replay(t, env, runs, tt.args...)
			checkResult(t, res, tt.code, tt.stdout)
			if got := runs.all(); !slices.Equal(got, tt.runs) {
				t.Errorf("the Handler ran %q, want %q", got, tt.runs)
			}
			if !strings.Contains(res.stderr, tt.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderr, res.stderr)
			}
			if strings.Contains(res.stderr, "WARNING") || strings.Contains(res.stderr, `"forced"`) {
				t.Errorf("a forced run without -force:\n%s", res.stderr)
			}
			if strings.Contains(res.stdout+res.stderr, env["STRIPE_KEY"]) {
				t.Errorf("the output quotes STRIPE_KEY:\n%s\n%s", res.stdout, res.stderr)
			}
		})
	}
}

// TestUsage checks the command-line mistakes: exit 2, the message and the
// usage on stderr, nothing on stdout, and neither Stripe asked nor the
// Handler run.
func TestUsage(t *testing.T) {
	fake, env := startStripe(t, time.Now())
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-31 * 24 * time.Hour).UTC().Format(time.RFC3339)
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"no arguments", nil, "give event ids, or -since to list events"},
		{"ids and -since", []string{"-since", "2h", "evt_ch"}, "give event ids or -since, not both"},
		{"a bad -since", []string{"-since", "yesterday"}, `-since "yesterday": want a Go duration (2h, 90m) or an RFC 3339 time`},
		{"a negative -since", []string{"-since", "-2h"}, "-since -2h: want a positive duration"},
		{"a -since in the future", []string{"-since", future}, "-since " + future + " is in the future"},
		{"a -since beyond Stripe's 30 days", []string{"-since", "2000h"}, "-since 2000h: want at most 720h (30 days): Stripe keeps events 30 days"},
		{"the largest Go duration as -since", []string{"-since", "2562047h"}, "-since 2562047h: want at most 720h (30 days)"},
		{"a -since time beyond Stripe's 30 days", []string{"-since", past}, "-since " + past + " is more than 720h (30 days) ago"},
		{"a bad -type", []string{"-since", "2h", "-type", "Invoice.*"}, `-type "Invoice.*": not an event type or a type prefix ending in .*`},
		{"a -type prefix without its dot", []string{"-since", "2h", "-type", "invoice*"}, `-type "invoice*": not an event type`},
		{"a -type with ids", []string{"-type", "invoice.paid", "evt_inv_paid"}, "-type applies to -since only"},
		{"a flag after the ids", []string{"evt_ch", "-force"}, "-force after the event ids: flags come before the ids"},
		{"an unknown flag", []string{"-until", "2h"}, "flag provided but not defined: -until"},
		{"an empty id", []string{""}, "an empty event id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Requests())
			runs := &runLog{}
			res := replay(t, env, runs, tt.args...)
			if res.code != 2 {
				t.Errorf("exit %d, want 2", res.code)
			}
			if !strings.Contains(res.stderr, tt.msg) || !strings.Contains(res.stderr, "usage: go run ./cmd/replay") {
				t.Errorf("stderr lacks %q and the usage:\n%s", tt.msg, res.stderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout: %q", res.stdout)
			}
			if n := len(fake.Requests()); n != before {
				t.Errorf("%d requests to Stripe", n-before)
			}
			if got := runs.all(); len(got) > 0 {
				t.Errorf("the Handler ran %q", got)
			}
		})
	}
}

// TestDedup replays events more than once, with and without DEDUP_TABLE
// (DynamoDB on moto_server): without it every replay runs; with it a
// completed event is a duplicate and does not run, a failed one stays
// retryable, and -force runs a completed event again, with warnings.
func TestDedup(t *testing.T) {
	_, env := startStripe(t, time.Now())
	srv := moto.Start(t)
	cfg := srv.Config(t)
	db := dynamodb.NewFromConfig(cfg)
	type step struct {
		args   []string
		code   int
		stdout []string
		runs   int  // how often the Handler has run, in all
		forced bool // warnings on stderr, forced delivery lines
	}
	handled := []string{"evt_ch charge.succeeded handled", "1 events: 1 handled, 0 duplicate, 0 ignored, 0 failed"}
	duplicate := []string{"evt_ch charge.succeeded duplicate", "1 events: 0 handled, 1 duplicate, 0 ignored, 0 failed"}
	failed := []string{"evt_fail charge.succeeded handler_error", "1 events: 0 handled, 0 duplicate, 0 ignored, 1 failed"}
	tests := []struct {
		name  string
		table string // DEDUP_TABLE, created for the test; empty: none
		steps []step
	}{
		{"without DEDUP_TABLE a replay runs again", "", []step{
			{args: []string{"evt_ch"}, stdout: handled, runs: 1},
			{args: []string{"evt_ch"}, stdout: handled, runs: 2},
		}},
		{"with DEDUP_TABLE a second replay is a duplicate", "replay-dup", []step{
			{args: []string{"evt_ch"}, stdout: handled, runs: 1},
			{args: []string{"evt_ch"}, stdout: duplicate, runs: 1},
			{args: []string{"-since", "2h", "-type", "charge.succeeded"}, code: 1, runs: 2, stdout: []string{
				"evt_ch charge.succeeded duplicate",
				"evt_fail charge.succeeded handler_error",
				"2 events: 0 handled, 1 duplicate, 0 ignored, 1 failed",
			}},
		}},
		{"with DEDUP_TABLE a failed event runs again", "replay-failed", []step{
			{args: []string{"evt_fail"}, code: 1, stdout: failed, runs: 1},
			{args: []string{"evt_fail"}, code: 1, stdout: failed, runs: 2},
		}},
		{"-force runs a completed event again", "replay-force", []step{
			{args: []string{"evt_ch"}, stdout: handled, runs: 1},
			{args: []string{"-force", "evt_ch"}, stdout: handled, runs: 2, forced: true},
			{args: []string{"evt_ch"}, stdout: duplicate, runs: 2},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := proctest.With(env, "DEDUP_TABLE", tt.table)
			if tt.table != "" {
				if err := dedup.CreateTable(t.Context(), db, tt.table); err != nil {
					t.Fatal(err)
				}
			}
			runs := &runLog{}
			for i, s := range tt.steps {
				res := replay(t, env, runs, s.args...)
				checkResult(t, res, s.code, s.stdout)
				if n := len(runs.all()); n != s.runs {
					t.Errorf("step %d: the Handler has run %d times, want %d", i+1, n, s.runs)
				}
				checkForced(t, res, s.forced)
			}
		})
	}
}

// checkForced checks the warnings of -force: one before starting, one per
// event, and "forced":true on each delivery line; or none of them.
func checkForced(t *testing.T, res result, forced bool) {
	t.Helper()
	start := "replay: WARNING: -force: events run even if already handled"
	first := strings.Index(res.stderr, start)
	per := strings.Index(res.stderr, "replay: WARNING: -force: running evt_ch (charge.succeeded) even if it was already handled")
	if !forced {
		if strings.Contains(res.stderr, "WARNING") {
			t.Errorf("a warning without -force:\n%s", res.stderr)
		}
		for _, d := range deliveries(t, res.stderr) {
			if d["forced"] != nil {
				t.Errorf("forced without -force: %v", d)
			}
		}
		return
	}
	if first != 0 || per < 0 {
		t.Errorf("stderr does not start with %q and warn for evt_ch:\n%s", start, res.stderr)
	}
	for _, d := range deliveries(t, res.stderr) {
		if d["forced"] != true {
			t.Errorf("a delivery line without forced:true: %v", d)
		}
	}
}

// TestSecretsID reads the secrets as the functions do in Lambda: from the
// Secrets Manager secret SECRETS_ID (on moto_server), with STRIPE_KEY and
// STRIPE_API_BASE in it and not in the environment.
func TestSecretsID(t *testing.T) {
	fake, _ := startStripe(t, time.Now())
	srv := moto.Start(t)
	cfg := srv.Config(t)
	value, _ := json.Marshal(map[string]string{"STRIPE_KEY": "sk_test_from_secrets_manager", "STRIPE_API_BASE": fake.URL()})
	_, err := secretsmanager.NewFromConfig(cfg).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String("stripetask/replay"), SecretString: aws.String(string(value)),
	})
	if err != nil {
		t.Fatal(err)
	}
	runs := &runLog{}
	res := replay(t, map[string]string{"SECRETS_ID": "stripetask/replay"}, runs, "evt_ch")
	checkResult(t, res, 0, []string{"evt_ch charge.succeeded handled", "1 events: 1 handled, 0 duplicate, 0 ignored, 0 failed"})
	if got := runs.all(); !slices.Equal(got, []string{"evt_ch"}) {
		t.Errorf("the Handler ran %q", got)
	}
}

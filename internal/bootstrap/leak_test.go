package bootstrap_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fakestripe"
	"stripetask/internal/fixture"
	"stripetask/internal/lambdarie"
	"stripetask/internal/leaktest"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
	"stripetask/internal/testlog"
)

// The leak test runs every function's failure paths with realistic secret
// values (leaktest) and searches all of their output, every log line on
// stderr, stdout, every response body and Lambda answer, for every secret
// value, in every form a function could print one. The functions run as
// their binaries do: in-process through their bootstraps (bootstrap.Webhook,
// Pay, Reconcile) with a Process whose streams are buffers, and, for the
// Lambda paths, a bootstrap built as `make build` builds it, run under
// aws-lambda-rie (the real Lambda Runtime API; internal/lambdarie), with
// the Handler leaktest.Handler, which fails and panics quoting every
// secret and Stripe's errors.
//
// The Stripe API is the real stripe-mock; given leaktest.LiveKey it
// refuses the key and quotes it ("Authorization was 'Bearer sk_live_...'"),
// which is how a Stripe error echoing the key is produced. DynamoDB is a
// real moto_server. An unreachable AWS service (the dedup table, Secrets
// Manager) is a loopback port that refuses connections, as a service
// whose endpoint is unreachable does. AWS behaviour modelled: Lambda puts
// the execution role's credentials in the function's environment
// (AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN: "Defined runtime environment
// variables", https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html),
// so they are secrets a function could print too; and what a function
// writes to stdout and stderr is its CloudWatch log
// (https://docs.aws.amazon.com/lambda/latest/dg/golang-logging.html).

func TestMain(m *testing.M) { os.Exit(lambdarie.Main(m)) }

// outputs collects what a function produced, by name, for leaktest.Check.
type outputs struct {
	t     *testing.T
	named []string
	texts []string
}

// add records one output.
func (o *outputs) add(name, text string) {
	o.named = append(o.named, name)
	o.texts = append(o.texts, text)
}

// check searches every output for every secret value.
func (o *outputs) check() {
	o.t.Helper()
	if len(o.texts) == 0 {
		o.t.Fatal("no output was collected")
	}
	for i, text := range o.texts {
		leaktest.Check(o.t, o.named[i], text)
	}
}

// leakEvent is a Stripe event of typ, as Stripe delivers it.
func leakEvent(id, typ string) []byte {
	return fakestripe.Event(id, typ, time.Now().Add(-time.Hour).Unix(), `{"id":"ch_leak","object":"charge","amount":100,"currency":"usd"}`)
}

// refusedURL returns the URL of a loopback port nothing listens on: a
// connection to it is refused at once.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// awsEnv points this process's AWS SDK at endpoint (the functions read
// the SDK's settings from the process) with the leak test's credentials,
// and returns those settings for the function's environment, where Lambda
// puts them too.
func awsEnv(t *testing.T, endpoint string) map[string]string {
	t.Helper()
	moto.PointSDK(t, endpoint)
	env := map[string]string{}
	for k, v := range moto.SDKEnv(endpoint) {
		env[k] = v
	}
	env["AWS_SECRET_ACCESS_KEY"] = leaktest.AWSSecretAccessKey
	env["AWS_SESSION_TOKEN"] = leaktest.AWSSessionToken
	for k, v := range env {
		t.Setenv(k, v)
	}
	return env
}

// merge returns the union of the maps, later ones winning.
func merge(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// webhookMain runs the webhook with proto as its Handler.
func webhookMain(proto leaktest.Handler) proctest.Main {
	return func(ctx context.Context, p bootstrap.Process) int { return bootstrap.Webhook(ctx, proto, p) }
}

// delivery is one POST to the webhook: body, signed with secret (none if
// empty), with Basic credentials basic (none if empty).
type delivery struct {
	name   string
	body   []byte
	secret string
	basic  string
	status int
}

// deliver sends d to the server and records the answer in out.
func deliver(t *testing.T, srv *proctest.Server, out *outputs, d delivery) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(d.body))
	req.Header.Set("Content-Type", "application/json")
	if d.secret != "" {
		req.Header.Set("Stripe-Signature", fixture.Sign(d.body, d.secret, time.Now()))
	}
	if user, pass, ok := strings.Cut(d.basic, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", d.name, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out.add(d.name+": response", string(body))
	if resp.StatusCode != d.status {
		t.Errorf("%s: %d %s, want %d", d.name, resp.StatusCode, body, d.status)
	}
}

// serveWebhook runs `webhook serve` with env and proto, sends the
// deliveries, stops it and returns its log.
func serveWebhook(t *testing.T, out *outputs, env map[string]string, proto leaktest.Handler, ds ...delivery) *proctest.Buffer {
	t.Helper()
	srv := proctest.Serve(t, webhookMain(proto), env)
	for _, d := range ds {
		deliver(t, srv, out, d)
	}
	srv.Stop()
	out.add("stdout", srv.Stdout.String())
	out.add("stderr", srv.Stderr.String())
	return srv.Stderr
}

// lineWith returns the first JSON line of log whose msg is msg and whose
// attr is value; it fails the test without one. Other lines are skipped:
// some output is plain text (a command's error on stderr, aws-lambda-go's
// own lines).
func lineWith(t *testing.T, log, msg, attr, value string) map[string]any {
	t.Helper()
	for l := range strings.SplitSeq(log, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == msg && m[attr] == value {
			return m
		}
	}
	t.Fatalf("no %q line with %s %q in:\n%s", msg, attr, value, log)
	return nil
}

// names checks that text names each secret (secrets.Map.Redact's
// "[NAME]"): the value was in it, and was redacted.
func names(t *testing.T, what, text string, secretNames ...string) {
	t.Helper()
	for _, n := range secretNames {
		if !strings.Contains(text, "["+n+"]") {
			t.Errorf("%s does not name %s, so the path did not quote it: %q", what, n, text)
		}
	}
}

// TestNoSecretInAnyOutput: see the top of the file.
func TestNoSecretInAnyOutput(t *testing.T) {
	mock := stripemock.Start(t)
	ok := leakEvent("evt_leak_error", "charge.succeeded") // its method fails
	panics := leakEvent("evt_leak_panic", "charge.failed")
	signed := leaktest.BasicAuth
	wrong := leaktest.BasicUser + ":wrong-" + leaktest.BasicPassword[:8]

	t.Run("webhook Init fails, Stripe echoing the key", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(leaktest.Env(leaktest.LiveKey), map[string]string{"STRIPE_API_BASE": mock})
		log := serveWebhook(t, out, env, leaktest.Handler{InitFails: true},
			delivery{"delivery", ok, leaktest.WebhookSecret, signed, http.StatusServiceUnavailable})
		out.check()
		cold := lineWith(t, log.String(), "cold start failed; retrying with the next delivery", "outcome", "init_failed")
		names(t, "the cold start's line", cold["error"].(string), "STRIPE_KEY", "STRIPE_WEBHOOK_SECRET", "BASIC_AUTH", "PAY_API_KEY", "AWS_SECRET_ACCESS_KEY")
		if msg := cold["error"].(string); !strings.Contains(msg, "Authorization was 'Bearer [STRIPE_KEY]'") {
			t.Errorf("the cold start's line lacks Stripe's echo of the key: %q", msg)
		}
		line := lineWith(t, log.String(), "delivery", "outcome", "init_failed")
		names(t, "the delivery's line", line["error"].(string), "STRIPE_KEY")
	})

	t.Run("webhook refusals and failing methods", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(leaktest.Env(leaktest.TestKey), map[string]string{"STRIPE_API_BASE": mock})
		log := serveWebhook(t, out, env, leaktest.Handler{},
			delivery{"bad signature", ok, "whsec_not_the_endpoints_secret_0123456789", signed, http.StatusBadRequest},
			delivery{"wrong Basic password", ok, leaktest.WebhookSecret, wrong, http.StatusUnauthorized},
			delivery{"no credentials", ok, "", "", http.StatusUnauthorized},
			delivery{"handler error", ok, leaktest.WebhookSecret, signed, http.StatusInternalServerError},
			delivery{"handler panic", panics, leaktest.WebhookSecret, signed, http.StatusInternalServerError})
		out.check()
		names(t, "the handler error's line", lineWith(t, log.String(), "delivery", "outcome", "handler_error")["error"].(string),
			"STRIPE_KEY", "STRIPE_WEBHOOK_SECRET", "BASIC_AUTH", "PAY_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
		names(t, "the panic's line", lineWith(t, log.String(), "delivery", "outcome", "handler_panic")["error"].(string), "STRIPE_KEY")
		lineWith(t, log.String(), "delivery", "outcome", "bad_signature")
		lineWith(t, log.String(), "delivery", "outcome", "unauthorized")
	})

	t.Run("webhook method given Stripe's echo of the key", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(leaktest.Env(leaktest.LiveKey), map[string]string{"STRIPE_API_BASE": mock, "ACCEPT_TEST_EVENTS": "true"})
		log := serveWebhook(t, out, env, leaktest.Handler{},
			delivery{"handler error", ok, leaktest.WebhookSecret, signed, http.StatusInternalServerError})
		out.check()
		if msg := lineWith(t, log.String(), "delivery", "outcome", "handler_error")["error"].(string); !strings.Contains(msg, "Authorization was 'Bearer [STRIPE_KEY]'") {
			t.Errorf("the line lacks Stripe's echo of the key: %q", msg)
		}
	})

	t.Run("webhook dedup unavailable", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(leaktest.Env(leaktest.TestKey), awsEnv(t, refusedURL(t)), map[string]string{"STRIPE_API_BASE": mock, "DEDUP_TABLE": "events"})
		log := serveWebhook(t, out, env, leaktest.Handler{},
			delivery{"delivery", ok, leaktest.WebhookSecret, signed, http.StatusServiceUnavailable})
		out.check()
		lineWith(t, log.String(), "delivery", "outcome", "dedup_unavailable")
	})

	t.Run("webhook secrets unavailable", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(awsEnv(t, refusedURL(t)), map[string]string{"SECRETS_ID": "stripetask/leak"})
		log := serveWebhook(t, out, env, leaktest.Handler{},
			delivery{"delivery", ok, leaktest.WebhookSecret, signed, http.StatusServiceUnavailable})
		out.check()
		lineWith(t, log.String(), "cold start failed; retrying with the next delivery", "outcome", "secrets_unavailable")
		lineWith(t, log.String(), "delivery", "outcome", "secrets_unavailable")
	})

	t.Run("webhook EventBridge events", func(t *testing.T) {
		out := &outputs{t: t}
		dir := t.TempDir()
		const source = "aws.partner/stripe.com/ed_test_61RtJ9bXk2Zt3Q9v8yUeSGY3DQ2mN4"
		file := filepath.Join(dir, "eventbridge.json")
		payload, _ := json.Marshal(events.EventBridgeEvent{Version: "0", ID: "eb-leak", DetailType: "charge.succeeded", Source: source,
			AccountID: "123456789012", Time: time.Now(), Region: "us-east-1", Resources: []string{}, Detail: ok})
		os.WriteFile(file, payload, 0o644)
		base := merge(leaktest.Env(leaktest.TestKey), map[string]string{"STRIPE_API_BASE": mock})
		for _, run := range []struct {
			name    string
			env     map[string]string
			code    int
			outcome string
		}{
			{"forged, without STRIPE_EVENT_SOURCE", base, 0, "foreign_source"},
			{"its method failing", proctest.With(base, "STRIPE_EVENT_SOURCE", source), 1, "handler_error"},
		} {
			var stdout, stderr proctest.Buffer
			code := webhookMain(leaktest.Handler{})(t.Context(), proctest.Process(run.env, []string{"invoke", file}, &stdout, &stderr))
			out.add(run.name+": stdout", stdout.String())
			out.add(run.name+": stderr", stderr.String())
			if code != run.code {
				t.Errorf("%s: exit %d, want %d\n%s", run.name, code, run.code, stderr.String())
			}
			lineWith(t, stderr.String(), "delivery", "outcome", run.outcome)
		}
		out.check()
	})

	t.Run("pay", func(t *testing.T) {
		out := &outputs{t: t}
		env := merge(leaktest.Env(leaktest.LiveKey), map[string]string{"STRIPE_API_BASE": mock, "STRIPE_PUBLISHABLE_KEY": "pk_test_leak0123456789"})
		srv := proctest.Serve(t, bootstrap.Pay, env)
		for _, r := range []struct {
			name, method, path, token, body string
			status                          int
		}{
			{"health", http.MethodGet, "/health", "", "", http.StatusOK},
			{"no token", http.MethodPost, "/customers", "", `{"email":"jenny@example.com"}`, http.StatusUnauthorized},
			{"wrong token", http.MethodPost, "/customers", "pay_wrong_" + leaktest.PayAPIKey[:8], `{"email":"jenny@example.com"}`, http.StatusUnauthorized},
			{"Stripe echoing the key", http.MethodPost, "/customers", leaktest.PayAPIKey, `{"email":"jenny@example.com"}`, http.StatusBadGateway},
			{"malformed JSON", http.MethodPost, "/customers", leaktest.PayAPIKey, `{"email":`, http.StatusBadRequest},
			{"unknown route", http.MethodGet, "/secrets", leaktest.PayAPIKey, "", http.StatusNotFound},
		} {
			req, _ := http.NewRequest(r.method, srv.URL+r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			if r.token != "" {
				req.Header.Set("Authorization", "Bearer "+r.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out.add(r.name+": response", string(body))
			if resp.StatusCode != r.status {
				t.Errorf("%s: %d %s, want %d", r.name, resp.StatusCode, body, r.status)
			}
		}
		srv.Stop()
		out.add("stdout", srv.Stdout.String())
		out.add("stderr", srv.Stderr.String())
		out.check()
		found := false
		for _, l := range testlog.Messages(t, srv.Stderr.String(), "request") {
			if msg, _ := l["error"].(string); l["status"] == 502.0 && strings.Contains(msg, "[STRIPE_KEY]") {
				found = true
			}
		}
		if !found {
			t.Errorf("no 502 request line naming STRIPE_KEY in Stripe's error:\n%s", srv.Stderr)
		}

		unavailable := &outputs{t: t}
		srv = proctest.Serve(t, bootstrap.Pay, merge(awsEnv(t, refusedURL(t)), map[string]string{"SECRETS_ID": "stripetask/leak"}))
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/customers", strings.NewReader(`{"email":"jenny@example.com"}`))
		req.Header.Set("Authorization", "Bearer "+leaktest.PayAPIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Stop()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("secrets unavailable: %d %s, want 503", resp.StatusCode, body)
		}
		unavailable.add("secrets unavailable: response", string(body))
		unavailable.add("secrets unavailable: stdout", srv.Stdout.String())
		unavailable.add("secrets unavailable: stderr", srv.Stderr.String())
		unavailable.check()
	})

	t.Run("reconcile", func(t *testing.T) {
		db := deduptest.Table(t, "leak")
		aws := awsEnv(t, db.URL())
		fake := fakestripe.Start(t)
		now := time.Now()
		fake.Add(t, fakestripe.Event("evt_leak_rec_error", "charge.succeeded", now.Add(-40*time.Minute).Unix(), `{"id":"ch_leak_1","object":"charge"}`),
			fakestripe.Event("evt_leak_rec_panic", "charge.failed", now.Add(-30*time.Minute).Unix(), `{"id":"ch_leak_2","object":"charge"}`))
		for _, run := range []struct {
			name  string
			env   map[string]string
			proto leaktest.Handler
			code  int
			check func(t *testing.T, stderr string)
		}{
			{"Init fails, Stripe echoing the key to the watchdog and the listing", merge(leaktest.Env(leaktest.LiveKey), aws, map[string]string{"STRIPE_API_BASE": mock}),
				leaktest.Handler{InitFails: true}, 1, func(t *testing.T, stderr string) {
					cold := lineWith(t, stderr, "cold start failed; retrying with the next pass", "outcome", "init_failed")
					names(t, "the cold start's line", cold["error"].(string), "STRIPE_KEY", "STRIPE_WEBHOOK_SECRET")
					names(t, "the watchdog's warning", lineWith(t, stderr, "could not read the webhook endpoint", "endpoint_id", "we_leak")["error"].(string), "STRIPE_KEY")
					if !strings.Contains(stderr, "reconcile: ") || !strings.Contains(stderr, "Bearer [STRIPE_KEY]") {
						t.Errorf("the pass's error is not printed, naming the key:\n%s", stderr)
					}
				}},
			{"failing methods", merge(leaktest.Env(leaktest.TestKey), aws, map[string]string{"STRIPE_API_BASE": fake.URL()}),
				leaktest.Handler{}, 0, func(t *testing.T, stderr string) {
					names(t, "the handler error's line", lineWith(t, stderr, "delivery", "outcome", "handler_error")["error"].(string), "STRIPE_KEY", "PAY_API_KEY")
					names(t, "the panic's line", lineWith(t, stderr, "delivery", "outcome", "handler_panic")["error"].(string), "STRIPE_KEY")
				}},
		} {
			t.Run(run.name, func(t *testing.T) {
				env := merge(run.env, map[string]string{"DEDUP_TABLE": "leak", "STRIPE_WEBHOOK_ENDPOINT_ID": "we_leak", "RECONCILE_GRACE": "1m", "RECONCILE_LOOKBACK": "2h"})
				var stdout, stderr proctest.Buffer
				code := bootstrap.Reconcile(t.Context(), run.proto, proctest.Process(env, []string{"once"}, &stdout, &stderr))
				out := &outputs{t: t}
				out.add("stdout", stdout.String())
				out.add("stderr", stderr.String())
				out.check()
				if code != run.code {
					t.Errorf("exit %d, want %d\n%s", code, run.code, stderr.String())
				}
				run.check(t, stderr.String())
			})
		}
	})

	t.Run("Lambda", func(t *testing.T) { lambdaLeaks(t, mock, ok) })
}

// lambdaLeaks runs the webhook and the worker with leaktest.Handler under
// aws-lambda-rie (the real Runtime API): a failing Init at the cold start,
// a delivery, a forged EventBridge event, and a queue message whose method
// fails given Stripe's echo of the key. Every invocation's output and
// answer is searched.
func lambdaLeaks(t *testing.T, mock string, body []byte) {
	bin := lambdarie.Build(t, "./internal/leaktest/testdata/leaky")
	sig := fixture.Sign(body, leaktest.WebhookSecret, time.Now())
	httpEvent, _ := json.Marshal(events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: "/webhook",
		Headers: map[string]string{"content-type": "application/json", "stripe-signature": sig,
			"authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(leaktest.BasicAuth))},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "leak-http", RouteKey: "$default", Stage: "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/webhook", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "Stripe/1.0"}},
		Body: string(body),
	})
	forged, _ := json.Marshal(events.EventBridgeEvent{Version: "0", ID: "eb-forged", DetailType: "charge.succeeded",
		Source: "aws.partner/stripe.com/ed_test_61RtJ9bXk2Zt3Q9v8yUeSGY3DQ2mN4", AccountID: "123456789012", Time: time.Now(), Region: "us-east-1", Resources: []string{}, Detail: body})
	sqsEvent, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-leak-1", ReceiptHandle: "rh-leak-1", Body: string(body),
		Attributes: map[string]string{"MessageGroupId": "ch_leak"}, EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:events.fifo", AWSRegion: "us-east-1"}}})
	base := merge(leaktest.Env(leaktest.LiveKey), map[string]string{"STRIPE_API_BASE": mock, "AWS_REGION": "us-east-1", "ACCEPT_TEST_EVENTS": "true"})

	for _, fn := range []struct {
		name     string
		env      map[string]string
		payloads [][]byte
		check    func(t *testing.T, results []lambdarie.Result)
	}{
		{"webhook, Init failing", proctest.With(base, "LEAK_INIT", "fail"), [][]byte{httpEvent, forged}, func(t *testing.T, rs []lambdarie.Result) {
			cold := lineWith(t, rs[0].Output, "cold start failed; retrying with the next delivery", "outcome", "init_failed")
			names(t, "the cold start's line", cold["error"].(string), "STRIPE_KEY", "AWS_SESSION_TOKEN")
			lineWith(t, rs[0].Output, "delivery", "outcome", "init_failed")
			lineWith(t, rs[1].Output, "delivery", "outcome", "foreign_source")
		}},
		{"worker, Init failing", proctest.With(base, "LEAK_FUNCTION", "work", "LEAK_INIT", "fail"), [][]byte{sqsEvent}, func(t *testing.T, rs []lambdarie.Result) {
			names(t, "the cold start's line", lineWith(t, rs[0].Output, "cold start failed; retrying with the next message", "outcome", "init_failed")["error"].(string), "STRIPE_KEY")
			lineWith(t, rs[0].Output, "delivery", "outcome", "init_failed")
		}},
		{"worker, method failing", proctest.With(base, "LEAK_FUNCTION", "work"), [][]byte{sqsEvent}, func(t *testing.T, rs []lambdarie.Result) {
			msg := lineWith(t, rs[0].Output, "delivery", "outcome", "handler_error")["error"].(string)
			if !strings.Contains(msg, "Authorization was 'Bearer [STRIPE_KEY]'") {
				t.Errorf("the line lacks Stripe's echo of the key: %q", msg)
			}
			if !strings.Contains(string(rs[0].Answer()), "m-leak-1") {
				t.Errorf("the batch answer %s does not fail the message", rs[0].Answer())
			}
		}},
	} {
		t.Run(fn.name, func(t *testing.T) {
			f := lambdarie.Run(t, lambdarie.Config{Bootstrap: bin, Env: fn.env, Timeout: 20 * time.Second})
			out := &outputs{t: t}
			var results []lambdarie.Result
			for i, p := range fn.payloads {
				r, err := f.Invoke(t.Context(), p)
				if err != nil {
					t.Fatal(err)
				}
				results = append(results, r)
				out.add(fmt.Sprintf("invocation %d: answer", i+1), string(r.Answer()))
				out.add(fmt.Sprintf("invocation %d: RIE's body", i+1), string(r.Body))
				out.add(fmt.Sprintf("invocation %d: output", i+1), r.Output)
			}
			out.add("all output", f.Output())
			out.check()
			fn.check(t, results)
		})
	}
}

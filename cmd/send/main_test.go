package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/internal/fixture"
)

var sendAt = time.Now()

func now() time.Time { return sendAt }

// received is one request a fake webhook got.
type received struct {
	body      []byte
	signature string
	user      string
	pass      string
	hasAuth   bool
}

// fakeWebhook answers like the local webhook: 200 when the signature
// verifies with secret, 400 otherwise.
func fakeWebhook(t *testing.T, secret string) (*httptest.Server, *[]received) {
	t.Helper()
	var got []received
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u, p, ok := r.BasicAuth()
		got = append(got, received{body: body, signature: r.Header.Get("Stripe-Signature"), user: u, pass: p, hasAuth: ok})
		if r.Method != http.MethodPost || r.URL.Path != "/webhook" {
			http.Error(w, "wrong route", http.StatusNotFound)
			return
		}
		if _, err := webhook.ConstructEventWithOptions(body, r.Header.Get("Stripe-Signature"), secret, webhook.ConstructEventOptions{IgnoreAPIVersionMismatch: true}); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":"bad signature"}`)
			return
		}
		io.WriteString(w, `{"status":"handled"}`+"\n")
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// fixtureBody returns the Stripe event of a fixture in events/.
func fixtureBody(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Body            string `json:"body"`
		IsBase64Encoded bool   `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(raw, &e); err != nil {
		t.Fatal(err)
	}
	if e.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(e.Body)
}

// TestSendEventName sends events/charge.succeeded.json by its name, signed
// with the local secret, and prints status and body.
func TestSendEventName(t *testing.T) {
	srv, got := fakeWebhook(t, fixture.LocalSecret)
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-url", srv.URL + "/webhook", "charge.succeeded"}, env(nil), &stdout, &stderr, srv.Client(), now); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}
	if len(*got) != 1 {
		t.Fatalf("%d requests, want 1", len(*got))
	}
	if want := fixtureBody(t, "charge.succeeded.json"); !bytes.Equal((*got)[0].body, want) {
		t.Errorf("body is not the fixture's, byte for byte")
	}
	if !strings.HasPrefix((*got)[0].signature, "t="+strconv.FormatInt(sendAt.Unix(), 10)+",") {
		t.Errorf("signature %q not made now", (*got)[0].signature)
	}
	out := stdout.String()
	for _, want := range []string{"200 OK", "charge.succeeded", `{"status":"handled"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout does not show %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+stderr.String(), fixture.LocalSecret) {
		t.Errorf("output shows the secret")
	}
}

// TestSendFiles sends fixture files: REST API, function URL (base64) and a
// bare Stripe event; with STRIPE_WEBHOOK_SECRET and BASIC_AUTH as `make
// run` would have them.
func TestSendFiles(t *testing.T) {
	const secret = "whsec_user_secret_for_send"
	srv, got := fakeWebhook(t, secret)
	bare := filepath.Join(t.TempDir(), "bare.json")
	bareBody := fixtureBody(t, "invoice.paid.json")
	if err := os.WriteFile(bare, bareBody, 0o644); err != nil {
		t.Fatal(err)
	}
	e := env(map[string]string{"STRIPE_WEBHOOK_SECRET": secret + ",whsec_old", "BASIC_AUTH": "stripe:pw"})
	for file, want := range map[string][]byte{
		filepath.Join("..", "..", "events", "rest-api", "charge.succeeded.json"):     fixtureBody(t, "rest-api/charge.succeeded.json"),
		filepath.Join("..", "..", "events", "function-url", "charge.succeeded.json"): fixtureBody(t, "function-url/charge.succeeded.json"),
		bare: bareBody,
	} {
		*got = nil
		var stdout, stderr bytes.Buffer
		if err := run([]string{"-url", srv.URL + "/webhook", file}, e, &stdout, &stderr, srv.Client(), now); err != nil {
			t.Errorf("%s: %v\n%s", file, err, stdout.String())
			continue
		}
		if len(*got) != 1 || !bytes.Equal((*got)[0].body, want) {
			t.Errorf("%s: body not sent byte for byte", file)
			continue
		}
		if r := (*got)[0]; !r.hasAuth || r.user != "stripe" || r.pass != "pw" {
			t.Errorf("%s: Basic credentials %q %q %v", file, r.user, r.pass, r.hasAuth)
		}
	}
}

// TestSendFailures checks an error status, an unreachable server and usage
// mistakes.
func TestSendFailures(t *testing.T) {
	srv, _ := fakeWebhook(t, "whsec_not_the_local_one")
	var stdout, stderr bytes.Buffer
	err := run([]string{"-url", srv.URL + "/webhook", "charge.succeeded"}, env(nil), &stdout, &stderr, srv.Client(), now)
	if err == nil || isUsage(err) || !strings.Contains(err.Error(), "400") {
		t.Errorf("wrong secret: %v, want an error naming the 400", err)
	}
	if !strings.Contains(stdout.String(), "400 Bad Request") || !strings.Contains(stdout.String(), "bad signature") {
		t.Errorf("status and body not printed:\n%s", stdout.String())
	}

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	err = run([]string{"-url", closed.URL + "/webhook", "charge.succeeded"}, env(nil), io.Discard, io.Discard, http.DefaultClient, now)
	if err == nil || !strings.Contains(err.Error(), "make run") {
		t.Errorf("unreachable: %v, want an error saying to run `make run`", err)
	}

	notEvent := filepath.Join(t.TempDir(), "x.json")
	os.WriteFile(notEvent, []byte(`{"hello":"world"}`), 0o644)
	for _, tt := range []struct {
		name  string
		args  []string
		usage bool
		want  string
	}{
		{"no event", nil, true, "EVENT"},
		{"two events", []string{"a", "b"}, true, "EVENT"},
		{"unknown event", []string{"charge.exploded"}, true, "charge.succeeded"},
		{"missing file", []string{"nope/x.json"}, false, "nope/x.json"},
		{"not an event", []string{notEvent}, false, "neither"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			err := run(tt.args, env(nil), io.Discard, &stderr, srv.Client(), now)
			if err == nil || isUsage(err) != tt.usage || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v (usage %v), want one mentioning %q (usage %v)", err, isUsage(err), tt.want, tt.usage)
			}
		})
	}
}

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"

	"stripetask/internal/fixture"
)

var signAt = time.Unix(1709572923, 0)

func fixedNow() time.Time { return signAt }

func writeFixture(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRunSignsFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "charge.succeeded.json")
	nested := filepath.Join(dir, "rest-api", "charge.succeeded.json")
	writeFixture(t, top, repoFixture(t, "charge.succeeded.json"))
	writeFixture(t, nested, repoFixture(t, "rest-api/charge.succeeded.json"))
	writeFixture(t, filepath.Join(dir, "README.md"), "not a fixture")

	const secret = "whsec_run_test_secret"
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-secret", secret, "-time", "1700000000", dir}, &stdout, &stderr, fixedNow); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines, want one per fixture:\n%s", len(lines), stdout.String())
	}
	for _, out := range []string{stdout.String(), stderr.String()} {
		if strings.Contains(out, secret) {
			t.Errorf("output contains the secret:\n%s", out)
		}
	}

	var v2 events.APIGatewayV2HTTPRequest
	readJSON(t, top, &v2)
	if !strings.HasPrefix(v2.Headers["stripe-signature"], "t=1700000000,") {
		t.Errorf("signature %q not made at -time", v2.Headers["stripe-signature"])
	}
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(v2.Body), v2.Headers["stripe-signature"], secret); err != nil {
		t.Errorf("%s: %v", top, err)
	}
	var v1 events.APIGatewayProxyRequest
	readJSON(t, nested, &v1)
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(v1.Body), v1.Headers["Stripe-Signature"], secret); err != nil {
		t.Errorf("%s: %v", nested, err)
	}

	// Re-running with the same time leaves the files byte-identical.
	before, err := os.ReadFile(top)
	if err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"-secret", secret, "-time", "1700000000", top}, &stdout, &stderr, fixedNow); err != nil {
		t.Fatalf("second run: %v", err)
	}
	after, err := os.ReadFile(top)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("second run changed the file:\n%s\n---\n%s", before, after)
	}
}

func TestRunDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "customer.created.json")
	writeFixture(t, path, repoFixture(t, "customer.created.json"))
	var stdout, stderr bytes.Buffer
	if err := run([]string{path}, &stdout, &stderr, fixedNow); err != nil {
		t.Fatalf("run: %v", err)
	}
	var ev events.APIGatewayV2HTTPRequest
	readJSON(t, path, &ev)
	// Default secret is the local test secret, default time is now.
	verify(t, []byte(ev.Body), ev.Headers["stripe-signature"])
	if strings.Contains(stdout.String()+stderr.String(), fixture.LocalSecret) {
		t.Errorf("output contains the secret")
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	writeFixture(t, good, repoFixture(t, "charge.succeeded.json"))
	writeFixture(t, bad, `{"version":"2.0","headers":{}}`)
	badBefore, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		args       []string
		usage      bool
		wantStderr string
	}{
		{name: "no files", args: nil, usage: true},
		{name: "empty secret", args: []string{"-secret", "", good}, usage: true},
		{name: "negative time", args: []string{"-time", "-5", good}, usage: true},
		{name: "unknown flag", args: []string{"-sekret", "x", good}, usage: true},
		{name: "missing file", args: []string{filepath.Join(dir, "nope.json")}},
		{name: "bad fixture", args: []string{good, bad}, wantStderr: "bad.json: fixture has no body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(tt.args, &stdout, &stderr, fixedNow)
			if err == nil {
				t.Fatalf("run succeeded, want an error")
			}
			if got := errors.Is(err, errUsage); got != tt.usage {
				t.Errorf("errors.Is(%v, errUsage) = %v, want %v", err, got, tt.usage)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
	after, err := os.ReadFile(bad)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(badBefore, after) {
		t.Errorf("a fixture that failed to sign was modified")
	}
	leftovers, err := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if err != nil || len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v %v", leftovers, err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// repoFixture returns a fixture of the repository's events/ directory.
func repoFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verify checks header against payload with stripe-go, signed at signAt
// with the local secret.
func verify(t *testing.T, payload []byte, header string) {
	t.Helper()
	if header != fmt.Sprintf("t=%d,v1=%x", signAt.Unix(), webhook.ComputeSignature(signAt, payload, fixture.LocalSecret)) {
		t.Errorf("signature %q is not the local secret's at %d", header, signAt.Unix())
	}
}

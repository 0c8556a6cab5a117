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

// TestRunSignsFilesAndDirectories checks -w, the in-place mode.
func TestRunSignsFilesAndDirectories(t *testing.T) {
	dir := t.TempDir()
	top := filepath.Join(dir, "charge.succeeded.json")
	nested := filepath.Join(dir, "rest-api", "charge.succeeded.json")
	writeFixture(t, top, repoFixture(t, "charge.succeeded.json"))
	writeFixture(t, nested, repoFixture(t, "rest-api/charge.succeeded.json"))
	writeFixture(t, filepath.Join(dir, "README.md"), "not a fixture")

	const secret = "whsec_run_test_secret"
	var stdout, stderr bytes.Buffer
	if err := run([]string{"-w", "-secret", secret, "-time", "1700000000", dir}, &stdout, &stderr, fixedNow); err != nil {
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
	if err := run([]string{"-w", "-secret", secret, "-time", "1700000000", top}, &stdout, &stderr, fixedNow); err != nil {
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
	if err := run([]string{"-w", path}, &stdout, &stderr, fixedNow); err != nil {
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
		wantStderr string // in the error or on stderr
	}{
		{name: "no files", args: []string{"-w"}, usage: true},
		{name: "no mode", args: []string{good}, usage: true, wantStderr: "-o DIR"},
		{name: "both modes", args: []string{"-w", "-o", filepath.Join(dir, "out"), good}, usage: true},
		{name: "empty -o", args: []string{"-o", "", good}, usage: true},
		{name: "empty secret", args: []string{"-w", "-secret", "", good}, usage: true},
		{name: "negative time", args: []string{"-w", "-time", "-5", good}, usage: true},
		{name: "unknown flag", args: []string{"-w", "-sekret", "x", good}, usage: true},
		{name: "missing file", args: []string{"-w", filepath.Join(dir, "nope.json")}},
		{name: "bad fixture", args: []string{"-w", good, bad}, wantStderr: "bad.json: fixture has no body"},
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
			if !strings.Contains(err.Error()+"\n"+stderr.String(), tt.wantStderr) {
				t.Errorf("error %q and stderr %q do not mention %q", err, stderr.String(), tt.wantStderr)
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

// TestRunCopies checks -o: the re-signed copies mirror the fixtures' paths
// under the output directory, and the fixtures themselves are untouched.
func TestRunCopies(t *testing.T) {
	top := repoFixture(t, "charge.succeeded.json")
	nested := repoFixture(t, "rest-api/charge.succeeded.json")
	fnURL := repoFixture(t, "function-url/charge.succeeded.json")
	pay := repoFixture(t, "pay/health.json")
	dir := t.TempDir()
	t.Chdir(dir)
	writeFixture(t, filepath.Join("events", "charge.succeeded.json"), top)
	writeFixture(t, filepath.Join("events", "rest-api", "charge.succeeded.json"), nested)
	writeFixture(t, filepath.Join("events", "function-url", "charge.succeeded.json"), fnURL)
	writeFixture(t, filepath.Join("events", "pay", "health.json"), pay)

	var stdout, stderr bytes.Buffer
	args := []string{"-o", "build", "-time", "1700000000",
		filepath.Join("events", "charge.succeeded.json"), filepath.Join("events", "rest-api"), filepath.Join(dir, "events", "function-url")}
	if err := run(args, &stdout, &stderr, fixedNow); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}
	if got := strings.Count(stdout.String(), "\n"); got != 3 {
		t.Errorf("stdout has %d lines, want 3:\n%s", got, stdout.String())
	}
	if !strings.Contains(stdout.String(), "signed events/rest-api/charge.succeeded.json -> build/events/rest-api/charge.succeeded.json (t=1700000000)") {
		t.Errorf("stdout does not say where the copy went:\n%s", stdout.String())
	}
	for src, want := range map[string]string{
		"events/charge.succeeded.json":              top,
		"events/rest-api/charge.succeeded.json":     nested,
		"events/function-url/charge.succeeded.json": fnURL,
		"events/pay/health.json":                    pay,
	} {
		if got, err := os.ReadFile(src); err != nil || string(got) != want {
			t.Errorf("%s changed (%v)", src, err)
		}
	}
	if _, err := os.Stat(filepath.Join("build", "events", "pay")); !os.IsNotExist(err) {
		t.Errorf("build/events/pay exists (%v); only the named fixtures are copied", err)
	}

	var v2 events.APIGatewayV2HTTPRequest
	readJSON(t, filepath.Join("build", "events", "charge.succeeded.json"), &v2)
	if !strings.HasPrefix(v2.Headers["stripe-signature"], "t=1700000000,") {
		t.Errorf("copy's signature %q not made at -time", v2.Headers["stripe-signature"])
	}
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(v2.Body), v2.Headers["stripe-signature"], fixture.LocalSecret); err != nil {
		t.Errorf("copy: %v", err)
	}
	var v1 events.APIGatewayProxyRequest
	readJSON(t, filepath.Join("build", "events", "rest-api", "charge.succeeded.json"), &v1)
	if err := webhook.ValidatePayloadIgnoringTolerance([]byte(v1.Body), v1.Headers["Stripe-Signature"], fixture.LocalSecret); err != nil {
		t.Errorf("rest-api copy: %v", err)
	}
	if _, err := os.Stat(filepath.Join("build", "events", "function-url", "charge.succeeded.json")); err != nil {
		t.Errorf("an absolute path inside the working directory is mirrored too: %v", err)
	}
}

// TestRunCopiesRefuses checks the -o destinations that cannot mirror a
// fixture: one outside the working directory, and the fixture itself.
func TestRunCopiesRefuses(t *testing.T) {
	content := repoFixture(t, "charge.succeeded.json")
	outside := filepath.Join(t.TempDir(), "charge.succeeded.json")
	writeFixture(t, outside, content)
	t.Chdir(t.TempDir())
	writeFixture(t, "charge.succeeded.json", content)

	for _, tt := range []struct {
		name, out, file, want string
	}{
		{"outside the working directory", "build", outside, "outside the working directory"},
		{"onto itself", ".", "charge.succeeded.json", "use -w"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run([]string{"-o", tt.out, tt.file}, &stdout, &stderr, fixedNow)
			if err == nil || errors.Is(err, errUsage) {
				t.Fatalf("run: %v, want a failure", err)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.want)
			}
		})
	}
	if got, _ := os.ReadFile("charge.succeeded.json"); string(got) != content {
		t.Errorf("the fixture changed")
	}
	if got, _ := os.ReadFile(outside); string(got) != content {
		t.Errorf("the outside fixture changed")
	}
}

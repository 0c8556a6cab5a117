package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"stripetask/dispatch"
	"stripetask/handler"
	"stripetask/internal/bootstrap"
	"stripetask/internal/function"
	"stripetask/internal/stripemock"
	"stripetask/internal/transport"
	"stripetask/secrets"
)

// TestFixturesAfterMakeEvents re-signs copies of the fixtures as `make
// events` does, with the webhook secret from env.json (what `sam local
// invoke --env-vars env.json` gives the function), and checks that each
// passes the runtime's verification as it is: no on-the-fly refresh, the
// normal five-minute tolerance.
func TestFixturesAfterMakeEvents(t *testing.T) {
	raw, err := os.ReadFile("../../env.json")
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	secret := env["WebhookFunction"]["STRIPE_WEBHOOK_SECRET"]
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("env.json WebhookFunction.STRIPE_WEBHOOK_SECRET = %q", secret)
	}

	dir := t.TempDir()
	var files []string
	err = filepath.WalkDir(fixturesDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".json" {
			return err
		}
		rel, _ := filepath.Rel(fixturesDir, path)
		if strings.HasPrefix(rel, "pay"+string(filepath.Separator)) || strings.HasPrefix(rel, "eventbridge"+string(filepath.Separator)) {
			return nil // the pay function's and EventBridge's fixtures are not signed
		}
		dst := filepath.Join(dir, rel)
		data, err := os.ReadFile(path)
		if err == nil {
			err = os.MkdirAll(filepath.Dir(dst), 0o755)
		}
		if err == nil {
			err = os.WriteFile(dst, data, 0o644)
		}
		files = append(files, dst)
		return err
	})
	if err != nil || len(files) < 15 {
		t.Fatalf("copying fixtures: %v (%d files)", err, len(files))
	}
	cmd := exec.Command("go", append([]string{"run", "../../cmd/events", "-w", "-secret", secret}, files...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cmd/events: %v\n%s", err, out)
	}

	d, err := dispatch.New(handler.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	h := bootstrap.NewWebhook(function.Deps{
		Secrets: secrets.Static{"STRIPE_WEBHOOK_SECRET": secret, "STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": stripemock.Start(t)},
	}, d, nil, 0)
	lambda := transport.NewLambdaHandler(h)
	for _, f := range files {
		payload, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out, err := lambda.Invoke(t.Context(), payload)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if resp.StatusCode != 200 {
			t.Errorf("%s after make events: %d %s", filepath.Base(f), resp.StatusCode, resp.Body)
		}
	}
}

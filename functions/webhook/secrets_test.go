package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/internal/fixture"
	"stripetask/internal/moto"
	"stripetask/internal/proctest"
	"stripetask/internal/stripemock"
)

const (
	smOldSecret = "whsec_sm_old_0123456789abcdef"
	smNewSecret = "whsec_sm_new_fedcba9876543210"
)

// server is a webhook function running in serve mode.
type server struct{ *proctest.Server }

// startServe runs the webhook's serve mode with env as its environment.
func startServe(t *testing.T, env map[string]string) *server {
	t.Helper()
	return &server{proctest.Serve(t, webhookMain, env)}
}

func (s *server) post(t *testing.T, body []byte, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", fixture.Sign(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

// smClient points the AWS SDK at srv (moto.Server.Env) and returns a
// Secrets Manager client of it.
func smClient(t *testing.T, srv *moto.Server) *secretsmanager.Client {
	t.Helper()
	return secretsmanager.NewFromConfig(srv.Config(t))
}

func secretJSON(whsec, apiBase string) string {
	return `{"STRIPE_WEBHOOK_SECRET":"` + whsec + `","STRIPE_KEY":"sk_test_123","STRIPE_API_BASE":"` + apiBase + `"}`
}

// TestSecretsManagerRotation rotates STRIPE_WEBHOOK_SECRET in Secrets
// Manager during a run of signed deliveries: no redeploy, no lost delivery.
func TestSecretsManagerRotation(t *testing.T) {
	srv := moto.Start(t)
	apiBase := stripemock.Start(t)
	sm := smClient(t, srv)
	const id = "stripetask/prod"
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(secretJSON(smOldSecret, apiBase))}); err != nil {
		t.Fatal(err)
	}
	// The function's environment holds no secret: only where to find them.
	s := startServe(t, map[string]string{"SECRETS_ID": id})
	body := loadFixture(t, filepath.Join(fixturesDir, "checkout.session.completed.json")).body

	for i := range 5 {
		if code, resp := s.post(t, body, smOldSecret); code != 200 {
			t.Fatalf("before rotation, delivery %d: %d %s", i, code, resp)
		}
	}
	if _, err := sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(secretJSON(smNewSecret, apiBase))}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if code, resp := s.post(t, body, smNewSecret); code != 200 {
			t.Fatalf("after rotation, delivery %d: %d %s\n%s", i, code, resp, s.Stderr)
		}
	}
	// A forged delivery still fails, and does not trigger refetches beyond
	// the limit (the refresh above was less than 30 s ago).
	if code, _ := s.post(t, body, "whsec_forged"); code != 400 {
		t.Fatalf("forged delivery: %d", code)
	}
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	logs := s.Stderr.String()
	if n := strings.Count(logs, `"outcome":"handled"`); n != 10 {
		t.Errorf("%d deliveries handled, want 10:\n%s", n, logs)
	}
	for _, v := range []string{smOldSecret, smNewSecret, "sk_test_123"} {
		if strings.Contains(logs, v) {
			t.Errorf("the log contains the secret value %q", v)
		}
	}
}

// TestSecretsManagerColdStartOutage starts the function while Secrets
// Manager is unreachable: deliveries answer 503 and are logged, and the
// first delivery after it is back succeeds, with no restart.
func TestSecretsManagerColdStartOutage(t *testing.T) {
	srv := moto.Start(t)
	srv.Env(t)
	apiBase := stripemock.Start(t)
	srv.Down()
	s := startServe(t, map[string]string{"SECRETS_ID": "stripetask/prod"})
	body := loadFixture(t, filepath.Join(fixturesDir, "charge.succeeded.json")).body

	code, resp := s.post(t, body, smOldSecret)
	if code != 503 || !strings.Contains(resp, "secrets unavailable") {
		t.Fatalf("while unreachable: %d %s", code, resp)
	}
	if logs := s.Stderr.String(); !strings.Contains(logs, `"outcome":"secrets_unavailable"`) || !strings.Contains(logs, `stripetask/prod`) {
		t.Fatalf("the 503 is not logged with the secret id:\n%s", logs)
	}

	srv.Up()
	if _, err := smClient(t, srv).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("stripetask/prod"), SecretString: aws.String(secretJSON(smOldSecret, apiBase))}); err != nil {
		t.Fatal(err)
	}
	if code, resp := s.post(t, body, smOldSecret); code != 200 {
		t.Fatalf("after recovery: %d %s\n%s", code, resp, s.Stderr)
	}
	if strings.Contains(s.Stderr.String(), smOldSecret) {
		t.Error("the log contains the signing secret")
	}
}

// TestSecretsManagerBadSecret: a malformed secret fails closed (503) and
// the log names the secret and the problem, not the value.
func TestSecretsManagerBadSecret(t *testing.T) {
	srv := moto.Start(t)
	if _, err := smClient(t, srv).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("bad"), SecretString: aws.String(`STRIPE_WEBHOOK_SECRET=` + smOldSecret)}); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, map[string]string{"SECRETS_ID": "bad"})
	body := loadFixture(t, filepath.Join(fixturesDir, "charge.succeeded.json")).body
	if code, _ := s.post(t, body, smOldSecret); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
	logs := s.Stderr.String()
	if !strings.Contains(logs, `\"bad\"`) || !strings.Contains(logs, "not valid JSON") || strings.Contains(logs, smOldSecret) {
		t.Fatalf("log:\n%s", logs)
	}
}

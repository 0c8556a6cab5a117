package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"stripetask/boot"
	"stripetask/delivery"
	"stripetask/handler"
	"stripetask/internal/moto"
	"stripetask/internal/stripemock"
)

const (
	smOldSecret = "whsec_sm_old_0123456789abcdef"
	smNewSecret = "whsec_sm_new_fedcba9876543210"
)

// server is a webhook function running in serve mode in the test.
type server struct {
	base   string
	stderr *lockedBuffer
	stop   func() int
}

// startServe runs the webhook's serve mode with env as its environment.
func startServe(t *testing.T, env map[string]string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var stdout, stderr lockedBuffer
	p := process(env, []string{"serve", "-addr", "127.0.0.1:0"}, &stdout, &stderr)
	ready := make(chan net.Addr, 1)
	p.Ready = func(a net.Addr) { ready <- a }
	done := make(chan int, 1)
	go func() { done <- boot.Webhook(ctx, handler.Handler{}, p) }()
	select {
	case addr := <-ready:
		s := &server{base: "http://" + addr.String(), stderr: &stderr}
		s.stop = sync.OnceValue(func() int {
			cancel()
			select {
			case code := <-done:
				return code
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop within 15 s")
				return -1
			}
		})
		t.Cleanup(func() { s.stop() })
		return s
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d; stderr:\n%s", code, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("serve did not listen within 30 s")
	}
	return nil
}

func (s *server) post(t *testing.T, body []byte, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.base+"/webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", delivery.Sign(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func smClient(t *testing.T) *secretsmanager.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return secretsmanager.NewFromConfig(cfg)
}

func secretJSON(whsec, apiBase string) string {
	return `{"STRIPE_WEBHOOK_SECRET":"` + whsec + `","STRIPE_KEY":"sk_test_123","STRIPE_API_BASE":"` + apiBase + `"}`
}

// TestSecretsManagerRotation rotates STRIPE_WEBHOOK_SECRET in Secrets
// Manager during a run of signed deliveries: no redeploy, no lost delivery.
func TestSecretsManagerRotation(t *testing.T) {
	srv := moto.Start(t)
	srv.Env(t)
	apiBase := stripemock.Start(t)
	sm := smClient(t)
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
			t.Fatalf("after rotation, delivery %d: %d %s\n%s", i, code, resp, s.stderr)
		}
	}
	// A forged delivery still fails, and does not trigger refetches beyond
	// the limit (the refresh above was less than 30 s ago).
	if code, _ := s.post(t, body, "whsec_forged"); code != 400 {
		t.Fatalf("forged delivery: %d", code)
	}
	if code := s.stop(); code != 0 {
		t.Fatalf("serve exited with %d", code)
	}
	logs := s.stderr.String()
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
	if logs := s.stderr.String(); !strings.Contains(logs, `"outcome":"secrets_unavailable"`) || !strings.Contains(logs, `stripetask/prod`) {
		t.Fatalf("the 503 is not logged with the secret id:\n%s", logs)
	}

	srv.Up()
	if _, err := smClient(t).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("stripetask/prod"), SecretString: aws.String(secretJSON(smOldSecret, apiBase))}); err != nil {
		t.Fatal(err)
	}
	if code, resp := s.post(t, body, smOldSecret); code != 200 {
		t.Fatalf("after recovery: %d %s\n%s", code, resp, s.stderr)
	}
	if strings.Contains(s.stderr.String(), smOldSecret) {
		t.Error("the log contains the signing secret")
	}
}

// TestSecretsManagerBadSecret: a malformed secret fails closed (503) and
// the log names the secret and the problem, not the value.
func TestSecretsManagerBadSecret(t *testing.T) {
	srv := moto.Start(t)
	srv.Env(t)
	if _, err := smClient(t).CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String("bad"), SecretString: aws.String(`STRIPE_WEBHOOK_SECRET=` + smOldSecret)}); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, map[string]string{"SECRETS_ID": "bad"})
	body := loadFixture(t, filepath.Join(fixturesDir, "charge.succeeded.json")).body
	if code, _ := s.post(t, body, smOldSecret); code != 503 {
		t.Fatalf("status %d, want 503", code)
	}
	logs := s.stderr.String()
	if !strings.Contains(logs, `\"bad\"`) || !strings.Contains(logs, "not valid JSON") || strings.Contains(logs, smOldSecret) {
		t.Fatalf("log:\n%s", logs)
	}
}

package moto

import (
	"net/http"
	"strings"
	"testing"
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

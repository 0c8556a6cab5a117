package hungserver_test

import (
	"net/http"
	"testing"
	"time"

	"stripetask/internal/hungserver"
)

// TestStart: a client's request stays unanswered until the client gives
// up, and the server counts the connection.
func TestStart(t *testing.T) {
	url, accepted := hungserver.Start(t)
	client := &http.Client{Timeout: 300 * time.Millisecond}
	start := time.Now()
	resp, err := client.Get(url + "/v1/customers")
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the hung server answered %s", resp.Status)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("the request failed after %v, before the client's timeout: %v", d, err)
	}
	if n := accepted(); n != 1 {
		t.Errorf("%d connections accepted, want 1", n)
	}
}

package payapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBody checks how request bodies are read, with a stub backend that
// fails the test if reached: every case is refused before any Stripe call,
// except the exact-limit one, which the stub answers.
func TestBody(t *testing.T) {
	created := `{"id":"cus_PgOjT3xWk9R2bV","object":"customer","email":"j@example.com","name":null}`
	api, be := newStubAPI(t, stubJSON(200, created))
	valid := `{"email":"j@example.com"}`
	atLimit := valid + strings.Repeat(" ", MaxBodyBytes-len(valid))
	tests := []struct {
		name, body   string
		hdr          []string
		chunked      bool // no Content-Length, as a streamed body
		status       int
		field, error string // expected in the error body
	}{
		{name: "exactly 64 KiB", body: atLimit, status: 201},
		{name: "one byte over 64 KiB", body: atLimit + " ", status: 413, error: "64 KiB"},
		{name: "over 64 KiB, streamed", body: atLimit + " ", chunked: true, status: 413, error: "64 KiB"},
		{name: "1 MiB", body: `{"email":"` + strings.Repeat("j", 1<<20) + `"}`, status: 413, error: "64 KiB"},
		{name: "text/plain", body: valid, hdr: []string{"Content-Type", "text/plain"}, status: 415, error: "Content-Type"},
		{name: "form", body: "email=j@example.com", hdr: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415, error: "Content-Type"},
		{name: "no Content-Type", body: valid, hdr: []string{"Content-Type", ""}, status: 415, error: "Content-Type"},
		{name: "JSON in Latin-1", body: valid, hdr: []string{"Content-Type", "application/json; charset=iso-8859-1"}, status: 415, error: "Content-Type"},
		{name: "JSON in UTF-8", body: valid, hdr: []string{"Content-Type", "application/json; charset=UTF-8"}, status: 201},
		{name: "a +json type", body: valid, hdr: []string{"Content-Type", "application/merge-patch+json"}, status: 201},
		{name: "malformed", body: `{"email":"j@example.com"`, status: 400, error: "not valid JSON"},
		{name: "not JSON", body: `email=j@example.com`, status: 400, error: "not valid JSON"},
		{name: "single quotes", body: `{'email':'j@example.com'}`, status: 400, error: "not valid JSON"},
		{name: "trailing object", body: valid + `{"email":"k@example.com"}`, status: 400, error: "nothing after it"},
		{name: "trailing garbage", body: valid + ` x`, status: 400, error: "nothing after it"},
		{name: "trailing brace", body: valid + `}`, status: 400, error: "nothing after it"},
		{name: "trailing whitespace", body: valid + " \n\t", status: 201},
		{name: "an array", body: `[` + valid + `]`, status: 400, error: "JSON object"},
		{name: "a string", body: `"j@example.com"`, status: 400, error: "JSON object"},
		{name: "null", body: `null`, status: 400, error: "JSON object, not null"},
		{name: "null with spaces", body: " null\n", status: 400, error: "JSON object, not null"},
		{name: "unknown field", body: `{"email":"j@example.com","phone":"+1 555 0100"}`, status: 400, field: "phone", error: "phone"},
		{name: "empty body", body: "", hdr: []string{"Content-Type", ""}, status: 400, field: "email", error: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRequest(t, "POST", "/customers", tt.body, tt.hdr...)
			if tt.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(tt.body))
			}
			n := len(be.Calls())
			res := api.serve(r)
			if res.code != tt.status {
				t.Fatalf("status %d, want %d: %.300s", res.code, tt.status, res.body)
			}
			calls := len(be.Calls()) - n
			if tt.status == 201 {
				if calls != 1 {
					t.Errorf("%d Stripe calls, want 1", calls)
				}
				return
			}
			if calls != 0 {
				t.Errorf("%d Stripe calls, want none", calls)
			}
			if res.str("field") != tt.field {
				t.Errorf("field %q, want %q", res.str("field"), tt.field)
			}
			if !strings.Contains(res.str("error"), tt.error) {
				t.Errorf("error %q does not mention %q", res.str("error"), tt.error)
			}
		})
	}
}

// TestBodyAfterAuth checks that a request without the bearer token is
// refused before its body is read: a 401, not a 413 or 415.
func TestBodyAfterAuth(t *testing.T) {
	api, _ := newStubAPI(t, noStripe(t))
	r := newRequest(t, "POST", "/customers", strings.Repeat("x", MaxBodyBytes+1), "Authorization", "", "Content-Type", "text/plain")
	r.Body = io.NopCloser(failingReader{t})
	if res := api.serve(r); res.code != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", res.code)
	}
}

// failingReader fails the test when read.
type failingReader struct{ t *testing.T }

func (f failingReader) Read([]byte) (int, error) {
	f.t.Error("body read before authentication")
	return 0, io.EOF
}

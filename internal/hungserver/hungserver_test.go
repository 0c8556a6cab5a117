package hungserver_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"

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

// Timings of the client tests: the trickle's interval is a tenth of the
// client's read timeout, so that a busy machine delaying a byte by up to
// 900 ms does not fire it; the request's deadline is well past the read
// timeout, so that a read timeout, had it fired, would show before it.
const (
	every       = 100 * time.Millisecond
	readTimeout = time.Second
	deadline    = 3 * time.Second
)

// sdkClient is the AWS SDK's HTTP client with a read timeout, the one
// internal/awsconfig gives every AWS client: its deadline on a read
// resets with each read that returns bytes.
func sdkClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithReadTimeout(readTimeout)
}

// TestTrickleOutlivesReadTimeout: what a client sees of a trickling server.
// The AWS SDK's read timeout (its BuildableClient's, which awsconfig sets)
// ends a request to the hung server (Start) after the timeout, but never
// one to a trickling server: the request goes on until its context's
// deadline ends it, with the context's error. StartTrickle's header never
// completes; StartTrickleBody's does at once, and its body never does.
func TestTrickleOutlivesReadTimeout(t *testing.T) {
	t.Run("hung", func(t *testing.T) {
		t.Parallel()
		url, _ := hungserver.Start(t)
		ctx, cancel := context.WithTimeout(t.Context(), deadline)
		defer cancel()
		start := time.Now()
		err := get(ctx, t, url, false)
		var rt *awshttp.ResponseTimeoutError
		if !errors.As(err, &rt) || time.Since(start) >= deadline {
			t.Fatalf("after %v: %v, want the read timeout's error before the %v deadline", time.Since(start), err, deadline)
		}
	})
	for _, tt := range []struct {
		name   string
		start  func(testing.TB, time.Duration) (string, func() int)
		header bool // whether the response's header arrives
	}{
		{"status", hungserver.StartTrickle, false},
		{"body", hungserver.StartTrickleBody, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, accepted := tt.start(t, every)
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			defer cancel()
			start := time.Now()
			err := get(ctx, t, url, tt.header)
			took := time.Since(start)
			var rt *awshttp.ResponseTimeoutError
			if errors.As(err, &rt) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("after %v: %v, want the context's deadline, not the read timeout", took, err)
			}
			if took < deadline {
				t.Errorf("the request failed after %v, before its %v deadline", took, deadline)
			}
			if n := accepted(); n != 1 {
				t.Errorf("%d connections accepted, want 1", n)
			}
		})
	}
}

// get sends a GET to url through sdkClient and reads the body; header is
// whether a response's header should arrive (then the body read's error is
// returned), else the request's error.
func get(ctx context.Context, t *testing.T, url string, header bool) error {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := sdkClient().Do(req)
	if err != nil {
		if header {
			t.Fatalf("no response header: %v", err)
		}
		return err
	}
	defer resp.Body.Close()
	if !header {
		t.Fatalf("a response header arrived: %s", resp.Status)
	}
	if resp.StatusCode != 200 || resp.ContentLength != 1<<20 {
		t.Errorf("response %s, content length %d, want 200 and 1 MiB", resp.Status, resp.ContentLength)
	}
	body, err := io.ReadAll(resp.Body)
	if len(body) == 0 || strings.Trim(string(body), " ") != "" {
		t.Errorf("body %q, want spaces", body)
	}
	if err == nil {
		t.Fatal("the body ended")
	}
	return err
}

// TestTrickleBytes: on the wire, each trickling server sends nothing
// before the request has arrived, then its answer byte by byte; its
// connections are closed when the test ends.
func TestTrickleBytes(t *testing.T) {
	for _, tt := range []struct {
		name  string
		start func(testing.TB, time.Duration) (string, func() int)
		want  string // the first bytes sent
	}{
		{"status", hungserver.StartTrickle, hungserver.TrickleStatus + "xxx"},
		{"body", hungserver.StartTrickleBody, hungserver.TrickleHeader + "   "},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c net.Conn
			t.Run("server", func(t *testing.T) {
				url, _ := tt.start(t, 20*time.Millisecond)
				var err error
				if c, err = net.Dial("tcp", strings.TrimPrefix(url, "http://")); err != nil {
					t.Fatal(err)
				}
				// Nothing before the request: a partial one is not a request.
				if _, err := io.WriteString(c, "GET / HTTP/1.1\r\n"); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if n, err := c.Read(make([]byte, 1)); n != 0 || !isTimeout(err) {
					t.Fatalf("before the request's end: read %d bytes, %v; want nothing", n, err)
				}
				if _, err := io.WriteString(c, "Host: x\r\nContent-Length: 2\r\n\r\n{}"); err != nil {
					t.Fatal(err)
				}
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				got := make([]byte, len(tt.want))
				reads := 0
				for n := 0; n < len(got); reads++ {
					m, err := c.Read(got[n:])
					if err != nil {
						t.Fatalf("after %q: %v", got[:n], err)
					}
					n += m
				}
				if string(got) != tt.want {
					t.Errorf("sent %q, want %q", got, tt.want)
				}
				if reads < 3 {
					t.Errorf("%d bytes arrived in %d reads, want them trickled", len(got), reads)
				}
			})
			// The server's test has ended: the connection is closed.
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			_, err := io.Copy(io.Discard, c)
			c.Close()
			if err != nil {
				t.Errorf("after the test: %v, want the connection closed", err)
			}
		})
	}
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

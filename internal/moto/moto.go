// Package moto runs a real moto_server (a local AWS API server) for tests, on
// a free loopback port, and stops it when the test ends. Tests point the AWS
// SDK at it with the SDK's standard settings (AWS_ENDPOINT_URL), so the code
// under test is configured exactly as in Lambda.
//
// moto_server is found in <repo>/bin (where `make tools` links it when it
// installs moto into a project-local Python virtual environment), then on
// PATH. When it is missing the test fails, saying to run `make tools`; it
// never skips.
package moto

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"stripetask/internal/devtools"
)

// Server is a moto_server process that can be stopped and started again on
// the same port, to test outages.
type Server struct {
	tb   testing.TB
	bin  string
	port int
	env  []string // extra environment of the process
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start runs moto_server for the rest of the test. env adds NAME=value
// settings of moto's own, such as INITIAL_NO_AUTH_ACTION_COUNT=3 to enforce
// IAM after three requests.
func Start(tb testing.TB, env ...string) *Server {
	tb.Helper()
	bin, err := devtools.Find("moto_server")
	if err != nil {
		tb.Fatalf("moto_server (moto 5.x) is needed to test against AWS APIs: %v (it uses moto_server from PATH, or installs moto[server] into ./bin/venv with pip)", err)
	}
	s := &Server{tb: tb, bin: bin, port: freePort(tb), env: env}
	s.Up()
	tb.Cleanup(s.Down)
	return s
}

// URL is the server's endpoint, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

// Env points the AWS SDK of this process at s for the rest of the test: it
// sets the variables of SDKEnv. Tests that call it cannot run in parallel.
func (s *Server) Env(tb testing.TB) { PointSDK(tb, s.URL()) }

// Config is Env, then the AWS SDK's default configuration as it now
// stands, for the test's own clients of the server.
func (s *Server) Config(tb testing.TB) aws.Config {
	tb.Helper()
	s.Env(tb)
	cfg, err := config.LoadDefaultConfig(tb.Context())
	if err != nil {
		tb.Fatalf("AWS SDK configuration for moto_server: %v", err)
	}
	return cfg
}

// ConfigFor returns an AWS SDK configuration for s built without the
// process environment (a region, dummy credentials, s's endpoint), for the
// test's own clients in a test that runs in parallel and so cannot use
// Config.
func (s *Server) ConfigFor() aws.Config {
	return aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String(s.URL()),
	}
}

// PointSDK is Env with endpoint instead of a moto_server: for a test of an
// endpoint that is not one (one that never answers, say).
func PointSDK(tb testing.TB, endpoint string) {
	for k, v := range SDKEnv(endpoint) {
		tb.Setenv(k, v)
	}
}

// SDKEnv returns the environment variables that point the AWS SDK at
// endpoint, for every service, with a region and dummy credentials, and
// with no profile, shared file or instance metadata to fall back on: the
// settings Env makes, as the environment of a function's process.
func SDKEnv(endpoint string) map[string]string {
	return map[string]string{
		"AWS_ENDPOINT_URL":            endpoint,
		"AWS_REGION":                  "us-east-1",
		"AWS_ACCESS_KEY_ID":           "testing",
		"AWS_SECRET_ACCESS_KEY":       "testing",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED":   "true",
	}
}

// Up starts the server (again) and waits until it answers, at most 30 s.
func (s *Server) Up() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin, "-H", "127.0.0.1", "-p", strconv.Itoa(s.port))
	cmd.Env = append(serverEnviron(s.tb), s.env...)
	if os.Getenv("MOTO_DEBUG") != "" {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("starting moto_server: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL() + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-done:
			s.cmd = nil
			s.tb.Fatalf("moto_server exited at start-up")
		default:
		}
		if time.Now().After(deadline) {
			s.tb.Fatalf("moto_server did not answer within 30 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Down stops the server; its data is lost.
func (s *Server) Down() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	s.cmd = nil
}

// Reset drops all of the server's data.
func (s *Server) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL()+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	return nil
}

// serverEnviron is this process's environment without the AWS settings that
// tests point at the server (Env), since moto's own boto session chokes on
// some of them, such as an empty AWS_PROFILE; and with PYTHONPATH leading to
// serializeRequests.
func serverEnviron(tb testing.TB) []string {
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), []byte(serializeRequests), 0o644); err != nil {
		tb.Fatalf("writing moto's request lock: %v", err)
	}
	pythonPath := dir
	var env []string
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "AWS_"):
		case strings.HasPrefix(kv, "PYTHONPATH="):
			pythonPath += string(os.PathListSeparator) + strings.TrimPrefix(kv, "PYTHONPATH=")
		default:
			env = append(env, kv)
		}
	}
	return append(env, "PYTHONPATH="+pythonPath)
}

// serializeRequests makes moto_server answer one request at a time. Python
// imports a sitecustomize module found on PYTHONPATH at start-up; this one
// wraps moto's WSGI application in a lock. moto serves requests on threads
// and checks a DynamoDB condition and writes the item in separate steps, so
// two conditional PutItems racing on one key could both succeed (seen under
// load: two of 50 concurrent claims granted), which DynamoDB itself never
// allows. The tests hold the store to DynamoDB's guarantee, so moto must
// give it. The same lock makes SQS's receives atomic, as SQS's are: moto
// picks a FIFO queue's deliverable message groups and marks the messages
// received in separate steps, so two racing receives could each get
// messages of one group.
//
// An SQS long poll (ReceiveMessage with WaitTimeSeconds) waits outside the
// lock: it tries a receive that does not wait, under the lock, and between
// tries sleeps without it, so that a worker's 20 s long poll on an empty
// queue does not hold every other request (the send it waits for among
// them) for 20 s.
//
// And before each receive, the messages of a FIFO queue whose visibility
// timeout has passed stop counting as in flight. moto only notices that of
// each message as it reaches it in the queue's order, so when a group's
// messages all came back (a failed message and the later ones of its
// group), the first was skipped as if its group were still in flight by
// the others, and the later ones delivered before it: out of order, which
// SQS never does. Each receive (this release included) sees one instant:
// moto's clock (sqs.models.unix_time_millis) is held still for its
// duration, under the lock. Otherwise a later message of the group whose
// timeout passed between the release and moto's loop (its visible_at a few
// milliseconds after the first's, as when moto marked a batch received on
// a busy machine) was released by the loop itself after it had skipped
// the first, and delivered alone: seen under load as a group's 5th event
// run before its 4th in queueworker's ObjectsOneAtATimeInOrder. Held
// still, the messages of one receive also get one visible_at, as SQS gives
// a batch one visibility timeout.
const serializeRequests = `# Written by stripetask's test harness (internal/moto): one request at a time.
import threading
import time

try:
    from moto.moto_server import werkzeug_app as _app

    _lock = threading.Lock()
    _held = threading.local()
    _call = _app.DomainDispatcherApplication.__call__

    def _serialized(self, environ, start_response):
        with _lock:
            _held.lock = True
            try:
                return list(_call(self, environ, start_response))
            finally:
                _held.lock = False

    _app.DomainDispatcherApplication.__call__ = _serialized
except Exception:  # not moto's interpreter, or another moto layout
    pass

try:
    from moto.sqs import models as _sqs

    _receive = _sqs.SQSBackend.receive_message

    def _release_expired(self, queue_name):
        # A message whose visibility timeout passed is no longer in flight:
        # its group may be delivered again, from its oldest message on.
        queue = self.get_queue(queue_name)
        for message in [m for m in queue.pending_messages if m.visible]:
            queue.pending_messages.discard(message)

    def _receive_at_one_instant(self, queue_name, count, visibility_timeout, message_attribute_names):
        # Only under the lock: no other request may see the clock held.
        if not getattr(_held, "lock", False):
            _release_expired(self, queue_name)
            return _receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        clock = _sqs.unix_time_millis
        now = clock()
        _sqs.unix_time_millis = lambda: now
        try:
            _release_expired(self, queue_name)
            return _receive(self, queue_name, count, 0, visibility_timeout, message_attribute_names)
        finally:
            _sqs.unix_time_millis = clock

    def _receive_waiting_unlocked(self, queue_name, count, wait_seconds_timeout, visibility_timeout, message_attribute_names=None):
        deadline = time.monotonic() + (wait_seconds_timeout or 0)
        while True:
            messages = _receive_at_one_instant(self, queue_name, count, visibility_timeout, message_attribute_names)
            if messages or time.monotonic() >= deadline:
                return messages
            if getattr(_held, "lock", False):
                _lock.release()
                try:
                    time.sleep(0.02)
                finally:
                    _lock.acquire()
            else:
                time.sleep(0.02)

    _sqs.SQSBackend.receive_message = _receive_waiting_unlocked
except Exception:  # another moto layout: long polls keep moto's own wait
    pass
`

// freePort returns a port for moto_server, which binds it only later:
// outside the ephemeral range that busy tests' connections take ports from
// (devtools.FreeAddr).
func freePort(tb testing.TB) int {
	addr, err := devtools.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

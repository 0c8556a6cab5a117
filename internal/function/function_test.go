package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"stripetask/internal/testlog"
	"stripetask/secrets"
)

func TestLevel(t *testing.T) {
	for status, want := range map[int]slog.Level{200: slog.LevelInfo, 204: slog.LevelInfo, 301: slog.LevelInfo, 400: slog.LevelWarn, 409: slog.LevelWarn, 499: slog.LevelWarn, 500: slog.LevelError, 503: slog.LevelError} {
		if got := Level(status); got != want {
			t.Errorf("Level(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestLine(t *testing.T) {
	buf := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	m := secrets.Map{"STRIPE_KEY": "sk_test_line_0123456789"}
	l := Line{Msg: "request", Level: slog.LevelError, RequestID: "req-1", Attrs: []slog.Attr{slog.String("route", "GET /x")},
		Status: 502, Took: 1500 * time.Microsecond, Err: errors.New("calling with sk_test_line_0123456789"), Stack: []byte("at sk_test_line_0123456789"), Secrets: m}
	l.Write(context.Background(), log)
	(&Line{Msg: "quiet", Level: slog.LevelDebug}).Write(context.Background(), log)
	lines := buf.Lines(t)
	if len(lines) != 1 {
		t.Fatalf("lines: %v", lines)
	}
	got := lines[0]
	want := map[string]any{"msg": "request", "level": "ERROR", "request_id": "req-1", "route": "GET /x", "status": 502.0, "duration_ms": 1.5, "error": "calling with [STRIPE_KEY]", "stack": "at [STRIPE_KEY]"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if strings.Contains(buf.String(), "sk_test_line") {
		t.Fatalf("secret logged: %s", buf)
	}
	buf2 := &testlog.Buffer{}
	(&Line{Msg: "ok", Level: slog.LevelInfo}).Write(context.Background(), slog.New(slog.NewJSONHandler(buf2, nil)))
	if l := buf2.Lines(t)[0]; l["status"] != nil || l["error"] != nil || l["stack"] != nil {
		t.Fatalf("unset fields logged: %v", l)
	}
}

func TestWarmup(t *testing.T) {
	var w Warmup
	var calls atomic.Int32
	fail := true
	f := func(context.Context) error {
		calls.Add(1)
		time.Sleep(10 * time.Millisecond) // let concurrent callers pile up
		if fail {
			return errors.New("not yet")
		}
		return nil
	}
	if err := w.Do(context.Background(), f); err == nil {
		t.Fatal("a failing warm-up reported success")
	}
	fail = false
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if err := w.Do(context.Background(), f); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 2 {
		t.Fatalf("f ran %d times, want 2 (one failure, then once for 10 concurrent callers)", n)
	}
}

// TestWarmupWaitBounded: a call arriving while another's f hangs (an Init
// that ignores its ctx) waits only until its own context ends, then gives
// up with ErrWarmupBusy; once f returns, the warm-up works again.
func TestWarmupWaitBounded(t *testing.T) {
	var w Warmup
	release := make(chan struct{})
	started := make(chan struct{})
	go w.Do(context.Background(), func(context.Context) error {
		close(started)
		<-release // ignores its ctx
		return errors.New("gave up")
	})
	<-started
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := w.Do(ctx, func(context.Context) error { return nil }); !errors.Is(err, ErrWarmupBusy) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do while another hangs: %v, want ErrWarmupBusy and the deadline", err)
	}
	close(release)
	if err := w.Do(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatalf("after the hung one returned: %v", err)
	}

	// A call's own f that outlives its context: the call returns at its
	// deadline; f's later success counts.
	var own Warmup
	slow := make(chan struct{})
	ctx2, cancel2 := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel2()
	if err := own.Do(ctx2, func(context.Context) error { <-slow; return nil }); !errors.Is(err, ErrWarmupBusy) {
		t.Fatalf("own f past the deadline: %v, want ErrWarmupBusy", err)
	}
	close(slow)
	if err := own.Do(t.Context(), func(context.Context) error { return errors.New("ran again") }); err != nil {
		t.Fatalf("after the slow f succeeded alone: %v, want its success to count", err)
	}
	var panicky Warmup
	if err := panicky.Do(t.Context(), func(context.Context) error { panic("boom") }); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Fatalf("a panicking f: %v", err)
	}
	if err := w.Do(t.Context(), func(context.Context) error { return errors.New("not called") }); err != nil {
		t.Fatalf("after a success: %v", err)
	}
}

func TestDepsDefaults(t *testing.T) {
	d := Deps{}.WithDefaults()
	if d.Log == nil || d.Stripe == nil || d.RequestID == nil || d.Now == nil {
		t.Fatalf("defaults missing: %+v", d)
	}
	if d.RequestID(context.Background()) != "" || time.Since(d.Now()) > time.Minute {
		t.Fatal("wrong defaults")
	}
	custom := Deps{Now: func() time.Time { return time.Unix(1, 0) }}.WithDefaults()
	if !custom.Now().Equal(time.Unix(1, 0)) {
		t.Fatal("a set field was replaced")
	}
}

func TestRedactError(t *testing.T) {
	m := secrets.Map{"STRIPE_KEY": "sk_live_redact_0123456789"}
	cause := errors.New("Authorization was 'Bearer sk_live_redact_0123456789'")
	err := RedactError(m, fmt.Errorf("listing the events: %w", cause))
	if got, want := err.Error(), "listing the events: Authorization was 'Bearer [STRIPE_KEY]'"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	if !errors.Is(err, cause) {
		t.Error("the redacted error no longer unwraps to its cause")
	}
	if wrapped := fmt.Errorf("reconcile: %w", err); strings.Contains(wrapped.Error(), "sk_live_") {
		t.Errorf("wrapping it quotes the key again: %q", wrapped)
	}
	clean := errors.New("nothing secret")
	if RedactError(m, clean) != clean || RedactError(m, nil) != nil || RedactError(nil, cause) != cause {
		t.Error("an error without a secret in it, or without secrets, is not returned as it is")
	}
}

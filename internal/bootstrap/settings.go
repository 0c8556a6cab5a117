package bootstrap

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"stripetask/internal/eventbridge"
	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// Settings are the webhook's non-secret settings, from environment variables.
type Settings struct {
	// LogLevel is LOG_LEVEL or, without it, AWS_LAMBDA_LOG_LEVEL (which
	// Lambda's advanced logging controls set): trace, debug, info, warn,
	// error or fatal, in any case. Default info.
	LogLevel slog.Level
	// Tolerance is SIGNATURE_TOLERANCE, a Go duration ("300s", "5m") or a
	// number of seconds, between 1 s and 1 h. Default 300 s.
	Tolerance time.Duration
	// StrictAPIVersion is STRICT_API_VERSION=true: refuse (400) events whose
	// api_version differs from stripe-go's instead of warning.
	StrictAPIVersion bool
	// SecretsID is SECRETS_ID, the name or ARN of the Secrets Manager secret
	// holding the secrets; empty means the process environment.
	SecretsID string
	// DedupTable is DEDUP_TABLE, the DynamoDB table that makes handling
	// exactly-once; empty means every delivery is dispatched.
	DedupTable string
	// SecretsTTL is SECRETS_TTL: how long fetched secrets are served before
	// they are fetched again, between 1 s and 24 h. Default 5 minutes.
	SecretsTTL time.Duration
	// ProcessingMode is PROCESSING_MODE: ModeSync (the default), where the
	// webhook runs each event's method before answering, or ModeQueue,
	// where it sends the event to QueueURL and answers at once.
	ProcessingMode string
	// QueueURL is QUEUE_URL, the SQS FIFO queue of queue mode (required
	// in it) and of the worker.
	QueueURL string
	// EventSource is STRIPE_EVENT_SOURCE, the name of the Stripe partner
	// event source (aws.partner/stripe.com/ed_...) whose EventBridge
	// events the webhook function runs; events from any other source are
	// refused. Empty (EventBridge not enabled): every EventBridge event is
	// refused, since they are not signed.
	EventSource string
	// AcceptTestEvents is ACCEPT_TEST_EVENTS=true: run test-mode events
	// even when STRIPE_KEY is a live key. By default they are answered
	// 200 test_event_in_live_mode and not run.
	AcceptTestEvents bool
}

// Processing modes.
const (
	ModeSync  = "sync"
	ModeQueue = "queue"
)

// Log levels beyond slog's four, for Lambda's TRACE and FATAL.
const (
	LevelTrace = slog.LevelDebug - 4
	LevelFatal = slog.LevelError + 4
)

// logLevels are the accepted level names, lower case.
var logLevels = map[string]slog.Level{
	"trace": LevelTrace, "debug": slog.LevelDebug, "info": slog.LevelInfo,
	"warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError, "fatal": LevelFatal,
}

// Bounds of the duration settings.
var (
	toleranceRange  = [2]time.Duration{time.Second, time.Hour}
	secretsTTLRange = [2]time.Duration{time.Second, 24 * time.Hour}
)

// ReadSettings parses the settings; a malformed value is an error naming it.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{LogLevel: slog.LevelInfo, Tolerance: webhookhttp.DefaultTolerance, SecretsTTL: secrets.DefaultTTL, SecretsID: getenv("SECRETS_ID"), DedupTable: getenv("DEDUP_TABLE")}
	name, level := "LOG_LEVEL", getenv("LOG_LEVEL")
	if level == "" {
		name, level = "AWS_LAMBDA_LOG_LEVEL", getenv("AWS_LAMBDA_LOG_LEVEL")
	}
	if level != "" {
		l, ok := logLevels[strings.ToLower(strings.TrimSpace(level))]
		if !ok {
			return s, fmt.Errorf("%s=%q: want trace, debug, info, warn, error or fatal", name, level)
		}
		s.LogLevel = l
	}
	var err error
	if s.Tolerance, err = duration(getenv, "SIGNATURE_TOLERANCE", s.Tolerance, toleranceRange); err != nil {
		return s, err
	}
	if s.SecretsTTL, err = duration(getenv, "SECRETS_TTL", s.SecretsTTL, secretsTTLRange); err != nil {
		return s, err
	}
	s.QueueURL = strings.TrimSpace(getenv("QUEUE_URL"))
	if s.EventSource = strings.TrimSpace(getenv("STRIPE_EVENT_SOURCE")); s.EventSource != "" && !strings.HasPrefix(s.EventSource, eventbridge.PartnerPrefix) {
		return s, fmt.Errorf("STRIPE_EVENT_SOURCE=%q: want a Stripe partner event source, aws.partner/stripe.com/ed_...", s.EventSource)
	}
	switch mode := strings.ToLower(strings.TrimSpace(getenv("PROCESSING_MODE"))); mode {
	case "", ModeSync:
		s.ProcessingMode = ModeSync
	case ModeQueue:
		if s.QueueURL == "" {
			return s, fmt.Errorf("PROCESSING_MODE=queue needs QUEUE_URL, the SQS FIFO queue's URL")
		}
		if !strings.HasSuffix(s.QueueURL, ".fifo") {
			return s, fmt.Errorf("QUEUE_URL=%q: queue mode needs a FIFO queue (its name ends in .fifo), so that events of one object run one at a time", s.QueueURL)
		}
		s.ProcessingMode = ModeQueue
	default:
		return s, fmt.Errorf("PROCESSING_MODE=%q: want sync or queue", getenv("PROCESSING_MODE"))
	}
	if v := getenv("ACCEPT_TEST_EVENTS"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("ACCEPT_TEST_EVENTS=%q: want true or false", v)
		}
		s.AcceptTestEvents = b
	}
	if v := getenv("STRICT_API_VERSION"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return s, fmt.Errorf("STRICT_API_VERSION=%q: want true or false", v)
		}
		s.StrictAPIVersion = b
	}
	return s, nil
}

// duration reads a duration setting: a Go duration ("300s", "5m") or a
// whole number of seconds, within bounds (inclusive).
func duration(getenv func(string) string, name string, def time.Duration, bounds [2]time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, err2 := strconv.ParseInt(v, 10, 64)
		if err2 != nil {
			return 0, fmt.Errorf("%s=%q: want a duration like 300s or a number of seconds", name, v)
		}
		// Compare in seconds: a large count would overflow a Duration.
		if secs < int64(bounds[0]/time.Second) || secs > int64(bounds[1]/time.Second) {
			return 0, fmt.Errorf("%s=%q: want between %s and %s", name, v, bounds[0], bounds[1])
		}
		d = time.Duration(secs) * time.Second
	}
	if d < bounds[0] || d > bounds[1] {
		return 0, fmt.Errorf("%s=%q: want between %s and %s", name, v, bounds[0], bounds[1])
	}
	return d, nil
}

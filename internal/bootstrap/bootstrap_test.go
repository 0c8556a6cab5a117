package bootstrap

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestReadSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Settings
		wantErr string
	}{
		{"defaults", nil, Settings{LogLevel: slog.LevelInfo, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute, ProcessingMode: "sync"}, ""},
		{"queue mode", map[string]string{"PROCESSING_MODE": "queue", "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/events.fifo"}, Settings{LogLevel: slog.LevelInfo, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute, ProcessingMode: "queue", QueueURL: "https://sqs.us-east-1.amazonaws.com/1/events.fifo"}, ""},
		{"queue mode without a queue", map[string]string{"PROCESSING_MODE": "queue"}, Settings{}, "needs QUEUE_URL"},
		{"queue mode on a standard queue", map[string]string{"PROCESSING_MODE": "queue", "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/events"}, Settings{}, "FIFO"},
		{"bad mode", map[string]string{"PROCESSING_MODE": "async"}, Settings{}, `PROCESSING_MODE="async"`},
		{"test events accepted", map[string]string{"ACCEPT_TEST_EVENTS": "true"}, Settings{LogLevel: slog.LevelInfo, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute, AcceptTestEvents: true}, ""},
		{"bad test events", map[string]string{"ACCEPT_TEST_EVENTS": "sometimes"}, Settings{}, `ACCEPT_TEST_EVENTS="sometimes"`},
		{"all set", map[string]string{
			"LOG_LEVEL": "debug", "SIGNATURE_TOLERANCE": "2m", "STRICT_API_VERSION": "true",
			"SECRETS_ID": "prod/stripetask", "SECRETS_TTL": "90", "DEDUP_TABLE": "events",
		}, Settings{LogLevel: slog.LevelDebug, Tolerance: 2 * time.Minute, StrictAPIVersion: true, SecretsID: "prod/stripetask", SecretsTTL: 90 * time.Second, DedupTable: "events"}, ""},
		{"Lambda's log level", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "WARN"}, Settings{LogLevel: slog.LevelWarn, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"Lambda's TRACE", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "TRACE"}, Settings{LogLevel: LevelTrace, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"Lambda's FATAL", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "FATAL"}, Settings{LogLevel: LevelFatal, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"Lambda's DEBUG", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "DEBUG"}, Settings{LogLevel: slog.LevelDebug, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"Lambda's ERROR", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "ERROR"}, Settings{LogLevel: slog.LevelError, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"Lambda's INFO", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "INFO"}, Settings{LogLevel: slog.LevelInfo, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"bare seconds at the top", map[string]string{"SIGNATURE_TOLERANCE": "3600", "SECRETS_TTL": "86400"}, Settings{LogLevel: slog.LevelInfo, Tolerance: time.Hour, SecretsTTL: 24 * time.Hour}, ""},
		{"LOG_LEVEL wins", map[string]string{"LOG_LEVEL": "error", "AWS_LAMBDA_LOG_LEVEL": "debug"}, Settings{LogLevel: slog.LevelError, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, Settings{}, `LOG_LEVEL="loud"`},
		{"bad Lambda level named as such", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "LOUD"}, Settings{}, `AWS_LAMBDA_LOG_LEVEL="LOUD"`},
		{"bad tolerance", map[string]string{"SIGNATURE_TOLERANCE": "soon"}, Settings{}, `SIGNATURE_TOLERANCE="soon"`},
		{"zero tolerance", map[string]string{"SIGNATURE_TOLERANCE": "0"}, Settings{}, `SIGNATURE_TOLERANCE="0": want between 1s and 1h0m0s`},
		{"nanosecond tolerance", map[string]string{"SIGNATURE_TOLERANCE": "300ns"}, Settings{}, "want between 1s and 1h0m0s"},
		{"overflowing seconds", map[string]string{"SIGNATURE_TOLERANCE": "9223372036"}, Settings{}, "want between"},
		{"huge seconds", map[string]string{"SIGNATURE_TOLERANCE": "99999999999999999999"}, Settings{}, "want a duration"},
		{"tolerance of a day", map[string]string{"SIGNATURE_TOLERANCE": "24h"}, Settings{}, "want between 1s and 1h0m0s"},
		{"negative TTL", map[string]string{"SECRETS_TTL": "-1m"}, Settings{}, `SECRETS_TTL="-1m": want between 1s and 24h0m0s`},
		{"millisecond TTL", map[string]string{"SECRETS_TTL": "10ms"}, Settings{}, "want between 1s and 24h0m0s"},
		{"overflowing TTL", map[string]string{"SECRETS_TTL": "18446744074"}, Settings{}, "want between"},
		{"bad strict", map[string]string{"STRICT_API_VERSION": "maybe"}, Settings{}, `STRICT_API_VERSION="maybe"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadSettings(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.ProcessingMode == "" {
				tt.want.ProcessingMode = ModeSync
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestLoggerLevelNames checks the names of Lambda's TRACE and FATAL levels
// in the log, and that the others keep slog's.
func TestLoggerLevelNames(t *testing.T) {
	var buf strings.Builder
	log := NewLogger(&buf, LevelTrace)
	ctx := context.Background()
	log.Log(ctx, LevelTrace, "t")
	log.Debug("d")
	log.Error("e")
	log.Log(ctx, LevelFatal, "f")
	want := []string{`"level":"TRACE","msg":"t"`, `"level":"DEBUG","msg":"d"`, `"level":"ERROR","msg":"e"`, `"level":"FATAL","msg":"f"`}
	for _, w := range want {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("no %s in:\n%s", w, buf.String())
		}
	}
}

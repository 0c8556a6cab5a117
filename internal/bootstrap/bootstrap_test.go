package bootstrap

import (
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
		{"defaults", nil, Settings{LogLevel: slog.LevelInfo, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"all set", map[string]string{
			"LOG_LEVEL": "debug", "SIGNATURE_TOLERANCE": "2m", "STRICT_API_VERSION": "true",
			"SECRETS_ID": "prod/stripetask", "SECRETS_TTL": "90", "DEDUP_TABLE": "events",
		}, Settings{LogLevel: slog.LevelDebug, Tolerance: 2 * time.Minute, StrictAPIVersion: true, SecretsID: "prod/stripetask", SecretsTTL: 90 * time.Second, DedupTable: "events"}, ""},
		{"Lambda's log level", map[string]string{"AWS_LAMBDA_LOG_LEVEL": "WARN"}, Settings{LogLevel: slog.LevelWarn, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"LOG_LEVEL wins", map[string]string{"LOG_LEVEL": "error", "AWS_LAMBDA_LOG_LEVEL": "debug"}, Settings{LogLevel: slog.LevelError, Tolerance: 300 * time.Second, SecretsTTL: 5 * time.Minute}, ""},
		{"bad level", map[string]string{"LOG_LEVEL": "loud"}, Settings{}, `LOG_LEVEL="loud"`},
		{"bad tolerance", map[string]string{"SIGNATURE_TOLERANCE": "soon"}, Settings{}, `SIGNATURE_TOLERANCE="soon"`},
		{"zero tolerance", map[string]string{"SIGNATURE_TOLERANCE": "0"}, Settings{}, "must be positive"},
		{"negative TTL", map[string]string{"SECRETS_TTL": "-1m"}, Settings{}, `SECRETS_TTL="-1m": must be positive`},
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
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

package bootstrap

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"stripetask/internal/webhookhttp"
	"stripetask/secrets"
)

// Settings are the webhook's non-secret settings, from environment variables.
type Settings struct {
	// LogLevel is LOG_LEVEL (or Lambda's AWS_LAMBDA_LOG_LEVEL): debug, info,
	// warn or error. Default info.
	LogLevel slog.Level
	// Tolerance is SIGNATURE_TOLERANCE, a Go duration ("300s", "5m") or a
	// number of seconds. Default 300 s.
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
	// they are fetched again. Default 5 minutes.
	SecretsTTL time.Duration
}

// ReadSettings parses the settings; a malformed value is an error naming it.
func ReadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{LogLevel: slog.LevelInfo, Tolerance: webhookhttp.DefaultTolerance, SecretsTTL: secrets.DefaultTTL, SecretsID: getenv("SECRETS_ID"), DedupTable: getenv("DEDUP_TABLE")}
	level := getenv("LOG_LEVEL")
	if level == "" {
		level = getenv("AWS_LAMBDA_LOG_LEVEL")
	}
	if level != "" {
		if err := s.LogLevel.UnmarshalText([]byte(level)); err != nil {
			return s, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", level)
		}
	}
	var err error
	if s.Tolerance, err = duration(getenv, "SIGNATURE_TOLERANCE", s.Tolerance); err != nil {
		return s, err
	}
	if s.SecretsTTL, err = duration(getenv, "SECRETS_TTL", s.SecretsTTL); err != nil {
		return s, err
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

// duration reads a positive duration setting: a Go duration ("300s", "5m")
// or a number of seconds.
func duration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, err2 := strconv.Atoi(v)
		if err2 != nil {
			return 0, fmt.Errorf("%s=%q: want a duration like 300s or a number of seconds", name, v)
		}
		d = time.Duration(secs) * time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%s=%q: must be positive", name, v)
	}
	return d, nil
}

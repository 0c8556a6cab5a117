package awsconfig

import (
	"testing"
)

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt < 100; attempt++ {
		limit := min(baseBackoff<<min(attempt, 7), maxBackoff)
		for range 50 {
			d, err := Backoff(attempt, nil)
			if err != nil || d < 0 || d >= limit || d > maxBackoff {
				t.Fatalf("attempt %d: %v %v, want under %v", attempt, d, err, limit)
			}
		}
	}
}

func TestLoad(t *testing.T) {
	t.Setenv("AWS_REGION", "eu-west-1")
	cfg, err := Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "eu-west-1" || cfg.Retryer().MaxAttempts() != MaxAttempts {
		t.Fatalf("region %q, %d attempts", cfg.Region, cfg.Retryer().MaxAttempts())
	}
}

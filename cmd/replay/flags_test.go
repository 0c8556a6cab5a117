package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"stripetask/internal/stripeevents"
)

// TestParseSinceBound: -since reaches back at most as far as Stripe keeps
// events (stripeevents.Retention, 30 days), in either form, to the
// second; one second more is a usage error.
func TestParseSinceBound(t *testing.T) {
	if h := stripeevents.Retention.Hours(); maxSinceText != fmt.Sprintf("%.0fh (%.0f days)", h, h/24) {
		t.Fatalf("the messages say %q of a retention of %v", maxSinceText, stripeevents.Retention)
	}
	now := time.Date(2026, 5, 31, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		since string
		want  time.Time // zero: an error
		err   string
	}{
		{"720h", now.Add(-720 * time.Hour), ""},
		{"719h59m59s", now.Add(-720*time.Hour + time.Second), ""},
		{"720h0m1s", time.Time{}, "-since 720h0m1s: want at most 720h (30 days): Stripe keeps events 30 days"},
		{"2000h", time.Time{}, "want at most 720h (30 days)"},
		{now.Add(-720 * time.Hour).Format(time.RFC3339), now.Add(-720 * time.Hour), ""},
		{now.Add(-720*time.Hour - time.Second).Format(time.RFC3339), time.Time{}, "is more than 720h (30 days) ago: Stripe keeps events 30 days"},
		{"2000-01-01T00:00:00Z", time.Time{}, "-since 2000-01-01T00:00:00Z is more than 720h (30 days) ago"},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.since, now)
		switch {
		case tt.err == "" && (err != nil || !got.Equal(tt.want)):
			t.Errorf("-since %s: %v, %v; want %v", tt.since, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("-since %s: error %v, want %q", tt.since, err, tt.err)
		}
		// Through parseArgs, a refused -since is a usage error (exit 2).
		if _, err := parseArgs([]string{"-since", tt.since}, now, io.Discard); tt.err != "" && !errors.Is(err, errUsage) {
			t.Errorf("-since %s: parseArgs error %v, want a usage error", tt.since, err)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestUsage: command-line mistakes exit with 2 and say what is wrong,
// before any network call.
func TestUsage(t *testing.T) {
	key := map[string]string{"STRIPE_KEY": "sk_test_123"}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string
	}{
		{name: "unknown flag", args: []string{"-nope"}, env: key, wantErr: "flag provided but not defined"},
		{name: "argument", args: []string{"extra"}, env: key, wantErr: `unexpected argument "extra"`},
		{name: "relative url", args: []string{"-url", "/webhook"}, env: key, wantErr: "not an absolute https URL"},
		{name: "ftp url", args: []string{"-url", "ftp://example.com/webhook"}, env: key, wantErr: "not an absolute https URL"},
		{name: "empty stack", args: []string{"-stack", ""}, env: key, wantErr: "-stack is empty"},
		{name: "no stripe key", args: []string{"-url", "https://example.com/webhook"}, wantErr: "set STRIPE_KEY or pass -stripe-key"},
		{name: "help", args: []string{"-h"}, env: key, wantErr: "usage: go run ./cmd/register"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			ran := false
			code := cli(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr, func(*Config) { ran = true })
			if code != 2 || ran {
				t.Fatalf("exit %d (ran: %v), want 2 before running; stderr:\n%s", code, ran, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantErr, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
			if strings.Contains(stderr.String(), "sk_test_123") {
				t.Error("the usage text shows the Stripe key")
			}
		})
	}
}

// TestParseFlags: defaults, the environment, and explicit flags.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{name: "defaults", env: map[string]string{"STRIPE_KEY": "sk_env"},
			want: Config{Stack: "stripetask", StripeKey: "sk_env"}},
		{name: "flags", args: []string{"-stack", "prod", "-url", "https://h.example/webhook", "-secret-id", "s", "-stripe-key", "sk_flag", "-all-events", "-dry-run", "-allow-api-version-mismatch"},
			env:  map[string]string{"STRIPE_KEY": "sk_env", "STRIPE_API_BASE": "http://127.0.0.1:1"},
			want: Config{Stack: "prod", StackSet: true, URL: "https://h.example/webhook", SecretID: "s", StripeKey: "sk_flag", StripeAPIBase: "http://127.0.0.1:1", AllEvents: true, DryRun: true, AllowAPIVersionMismatch: true}},
		{name: "default stack given explicitly", args: []string{"-stack", "stripetask", "-url", "http://127.0.0.1:3000/webhook"}, env: map[string]string{"STRIPE_KEY": "k"},
			want: Config{Stack: "stripetask", StackSet: true, URL: "http://127.0.0.1:3000/webhook", StripeKey: "k"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			got, err := parseFlags(tt.args, func(k string) string { return tt.env[k] }, &stderr)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

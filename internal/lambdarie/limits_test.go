package lambdarie_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"stripetask/internal/lambdarie"
)

// TestTemplateLimits reads the real template.yaml: each function's
// Timeout and MemorySize, its own or Globals.Function's, through a !Ref to
// a parameter's Default for the worker. The numbers are the template's
// today; a change to the template changes them here too, on purpose.
func TestTemplateLimits(t *testing.T) {
	tests := []struct {
		resource string
		want     lambdarie.Limits
	}{
		{"WebhookFunction", lambdarie.Limits{Timeout: 20 * time.Second, MemoryMB: 256}},
		{"PayFunction", lambdarie.Limits{Timeout: 20 * time.Second, MemoryMB: 256}},
		{"WorkerFunction", lambdarie.Limits{Timeout: 60 * time.Second, MemoryMB: 256}},     // !Ref WorkerTimeout
		{"ReconcileFunction", lambdarie.Limits{Timeout: 300 * time.Second, MemoryMB: 256}}, // its own Timeout
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			if got := lambdarie.TemplateLimits(t, tt.resource); got != tt.want {
				t.Errorf("TemplateLimits(%s) = %+v, want %+v", tt.resource, got, tt.want)
			}
		})
	}
	c := lambdarie.TemplateLimits(t, "WebhookFunction").Apply(lambdarie.Config{Bootstrap: "b", Timeout: time.Second})
	if c.Timeout != 20*time.Second || c.MemoryMB != 256 || c.Bootstrap != "b" {
		t.Errorf("Apply gave %+v", c)
	}
}

// TestReadTemplateLimits: the resolution rules, on small templates with
// CloudFormation's tags.
func TestReadTemplateLimits(t *testing.T) {
	const tpl = `
Parameters:
  Seconds: {Type: Number, Default: 45}
  NoDefault: {Type: Number}
Conditions:
  Big: !Equals [!Ref Seconds, 45]
Globals:
  Function:
    Timeout: 20
    MemorySize: 512
    Environment:
      Variables:
        X: !Sub "${Seconds}"
Resources:
  Globals:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: .}
  Own:
    Type: AWS::Serverless::Function
    Properties: {Timeout: 7, MemorySize: 1024}
  Ref:
    Type: AWS::Serverless::Function
    Properties: {Timeout: !Ref Seconds}
  Plain:
    Type: AWS::Lambda::Function
    Properties: {Code: {}}
  If:
    Type: AWS::Serverless::Function
    Properties: {MemorySize: !If [Big, 2048, 128]}
  RefNoDefault:
    Type: AWS::Serverless::Function
    Properties: {Timeout: !Ref NoDefault}
  RefMissing:
    Type: AWS::Serverless::Function
    Properties: {Timeout: !Ref Nothing}
  Table:
    Type: AWS::DynamoDB::Table
`
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		resource string
		want     lambdarie.Limits
		err      string
	}{
		{resource: "Globals", want: lambdarie.Limits{Timeout: 20 * time.Second, MemoryMB: 512}},
		{resource: "Own", want: lambdarie.Limits{Timeout: 7 * time.Second, MemoryMB: 1024}},
		{resource: "Ref", want: lambdarie.Limits{Timeout: 45 * time.Second, MemoryMB: 512}},
		{resource: "Plain", want: lambdarie.Limits{Timeout: 3 * time.Second, MemoryMB: 128}}, // no Globals: Lambda's defaults
		{resource: "If", err: "!If"},
		{resource: "RefNoDefault", err: "no Default"},
		{resource: "RefMissing", err: "no such parameter"},
		{resource: "Table", err: "not a function"},
		{resource: "Absent", err: "no resource Absent"},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			got, err := lambdarie.ReadTemplateLimits(path, tt.resource)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("error %v, want one saying %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

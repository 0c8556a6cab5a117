package deploycheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// reconcileTemplate is the part of template.yaml that TestReconcileFunction
// reads.
type reconcileTemplate struct {
	Parameters map[string]struct {
		Default        string `yaml:"Default"`
		AllowedPattern string `yaml:"AllowedPattern"`
	} `yaml:"Parameters"`
	Resources map[string]struct {
		Type       string `yaml:"Type"`
		Properties struct {
			Timeout       yaml.Node `yaml:"Timeout"` // a number, or a !Ref in other functions
			LoggingConfig struct {
				LogGroup yaml.Node `yaml:"LogGroup"`
			} `yaml:"LoggingConfig"`
			Environment struct {
				Variables map[string]yaml.Node `yaml:"Variables"`
			} `yaml:"Environment"`
			Policies []yaml.Node `yaml:"Policies"`
			Events   map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					Schedule yaml.Node `yaml:"Schedule"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
}

// TestReconcileFunction holds the reconciler's wiring to what its code
// needs: scheduled every ReconcileEvery (15 minutes by default), with
// DEDUP_TABLE, its own log group, a timeout shorter than the interval so
// that passes do not pile up, and only the permissions it uses.
func TestReconcileFunction(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl reconcileTemplate
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	fn, ok := tpl.Resources["ReconcileFunction"]
	if !ok || fn.Type != "AWS::Serverless::Function" {
		t.Fatal("template.yaml has no ReconcileFunction")
	}
	p := fn.Properties

	every, ok := tpl.Parameters["ReconcileEvery"]
	if !ok || every.Default != "15 minutes" {
		t.Fatalf("parameter ReconcileEvery %+v, want a default of 15 minutes", every)
	}
	pattern := regexp.MustCompile(every.AllowedPattern)
	for _, v := range []string{"15 minutes", "1 hour", "5 minutes", "1 day"} {
		if !pattern.MatchString(v) {
			t.Errorf("ReconcileEvery refuses %q", v)
		}
	}
	for _, v := range []string{"", "15", "15m", "rate(15 minutes)", "0 minutes"} {
		if pattern.MatchString(v) {
			t.Errorf("ReconcileEvery accepts %q", v)
		}
	}
	var schedules []string
	for _, ev := range p.Events {
		if ev.Type == "Schedule" {
			schedules = append(schedules, ev.Properties.Schedule.Tag+" "+ev.Properties.Schedule.Value)
		}
	}
	if !slices.Equal(schedules, []string{"!Sub rate(${ReconcileEvery})"}) || len(p.Events) != 1 {
		t.Errorf("ReconcileFunction events: schedules %q of %d events, want one Schedule of rate(${ReconcileEvery})", schedules, len(p.Events))
	}

	n, unit, _ := strings.Cut(every.Default, " ")
	count, _ := strconv.Atoi(n)
	interval := time.Duration(count) * map[string]time.Duration{"minutes": time.Minute, "hours": time.Hour}[unit]
	secs, err := strconv.Atoi(p.Timeout.Value)
	if err != nil {
		t.Fatalf("ReconcileFunction Timeout %q: %v", p.Timeout.Value, err)
	}
	timeout := time.Duration(secs) * time.Second
	if timeout < time.Minute || timeout >= interval {
		t.Errorf("ReconcileFunction Timeout %v: want at least a minute, and shorter than the default interval %v", timeout, interval)
	}

	if v, ok := p.Environment.Variables["DEDUP_TABLE"]; !ok || v.Tag != "!Ref" || v.Value != "DedupTable" {
		t.Errorf("ReconcileFunction DEDUP_TABLE %+v, want !Ref DedupTable", v)
	}
	if lg := p.LoggingConfig.LogGroup; lg.Tag != "!Ref" || lg.Value != "ReconcileLogGroup" || tpl.Resources["ReconcileLogGroup"].Type != "AWS::Logs::LogGroup" {
		t.Errorf("ReconcileFunction logs to %s %s, want its own ReconcileLogGroup", lg.Tag, lg.Value)
	}

	var (
		secretPolicies int
		actions        []string
	)
	for _, pol := range p.Policies {
		var doc struct {
			Secret *yaml.Node `yaml:"AWSSecretsManagerGetSecretValuePolicy"`
			Stmt   []struct {
				Effect   string    `yaml:"Effect"`
				Action   []string  `yaml:"Action"`
				Resource yaml.Node `yaml:"Resource"`
			} `yaml:"Statement"`
		}
		if err := pol.Decode(&doc); err != nil {
			t.Fatalf("a policy of ReconcileFunction: %v", err)
		}
		if doc.Secret != nil {
			secretPolicies++
		}
		for _, st := range doc.Stmt {
			if st.Effect != "Allow" || st.Resource.Tag != "!GetAtt" || st.Resource.Value != "DedupTable.Arn" {
				t.Errorf("statement %+v, want Allow on !GetAtt DedupTable.Arn only", st)
			}
			actions = append(actions, st.Action...)
		}
	}
	slices.Sort(actions)
	if want := []string{"dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}; secretPolicies != 1 || len(p.Policies) != 2 || !slices.Equal(actions, want) {
		t.Errorf("ReconcileFunction may: the secret (%d policies), %q; want the secret and %q on the table, nothing else", secretPolicies, actions, want)
	}
}

package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// resource is a template resource read loosely: its type, condition and
// properties as YAML.
type resource struct {
	Type       string    `yaml:"Type"`
	Condition  string    `yaml:"Condition"`
	Properties yaml.Node `yaml:"Properties"`
}

func loose(t *testing.T) (map[string]resource, map[string]yaml.Node) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Parameters map[string]yaml.Node `yaml:"Parameters"`
		Resources  map[string]resource  `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	return tpl.Resources, tpl.Parameters
}

// yamlText renders a node back to YAML, for substring checks of tags
// (!Ref, !If) that a plain decode loses.
func yamlText(t *testing.T, n yaml.Node) string {
	t.Helper()
	b, err := yaml.Marshal(&n)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestQueueModeResources holds queue mode's resources to the contract: the
// FIFO queue and its FIFO dead-letter queue, the worker with partial batch
// failures, all only in queue mode; the visibility timeout six times the
// worker's timeout; the webhook allowed to send to that queue only.
func TestQueueModeResources(t *testing.T) {
	res, params := loose(t)
	for _, name := range []string{"ProcessingMode", "WorkerTimeout", "MaxReceiveCount"} {
		if _, ok := params[name]; !ok {
			t.Errorf("no parameter %s", name)
		}
	}
	for _, name := range []string{"EventQueue", "EventDeadLetterQueue", "WorkerFunction", "WebhookQueuePolicy", "EventDeadLetterAlarm", "WorkerLogGroup"} {
		if r, ok := res[name]; !ok || r.Condition != "QueueMode" {
			t.Errorf("%s: missing, or not only in queue mode (condition %q)", name, r.Condition)
		}
	}
	q := yamlText(t, res["EventQueue"].Properties)
	for _, want := range []string{"FifoQueue: true", "ContentBasedDeduplication: false", "WorkerVisibility", "deadLetterTargetArn", "maxReceiveCount: !Ref MaxReceiveCount"} {
		if !strings.Contains(q, want) {
			t.Errorf("EventQueue lacks %s:\n%s", want, q)
		}
	}
	if !strings.Contains(yamlText(t, res["EventDeadLetterQueue"].Properties), "FifoQueue: true") {
		t.Error("the dead-letter queue of a FIFO queue must be FIFO")
	}
	w := yamlText(t, res["WorkerFunction"].Properties)
	for _, want := range []string{"ReportBatchItemFailures", "Timeout: !Ref WorkerTimeout", "DEDUP_TABLE", "QUEUE_URL"} {
		if !strings.Contains(w, want) {
			t.Errorf("WorkerFunction lacks %s", want)
		}
	}
	// Six times the timeout, for every allowed timeout.
	raw, _ := os.ReadFile(filepath.Join(root, "template.yaml"))
	var tpl struct {
		Mappings map[string]map[string]map[string]int `yaml:"Mappings"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	var allowed struct {
		AllowedValues []int `yaml:"AllowedValues"`
	}
	p := params["WorkerTimeout"]
	if err := p.Decode(&allowed); err != nil || len(allowed.AllowedValues) == 0 {
		t.Fatalf("WorkerTimeout's allowed values: %v", err)
	}
	for _, v := range allowed.AllowedValues {
		key := strings.TrimSpace(yamlInt(v))
		if got := tpl.Mappings["WorkerVisibility"][key]["Seconds"]; got != 6*v {
			t.Errorf("WorkerTimeout %d: visibility timeout %d, want %d", v, got, 6*v)
		}
		if v > 900 {
			t.Errorf("WorkerTimeout %d over Lambda's 900 s", v)
		}
	}
	if !strings.Contains(yamlText(t, res["WebhookQueuePolicy"].Properties), "sqs:SendMessage") {
		t.Error("the webhook cannot send to the queue")
	}
}

func yamlInt(v int) string {
	b, _ := yaml.Marshal(v)
	return string(b)
}

// TestEventBridgeResources checks that the partner event bus, the rule with
// its retry policy and dead-letter queue, the permission and the alarm exist
// only with StripeEventSourceName, and that the webhook knows the source.
func TestEventBridgeResources(t *testing.T) {
	res, params := loose(t)
	if _, ok := params["StripeEventSourceName"]; !ok {
		t.Fatal("no parameter StripeEventSourceName")
	}
	for _, name := range []string{"StripeEventBus", "StripeEventsRule", "StripeEventsPermission", "EventBridgeDeadLetterQueue", "EventBridgeDeadLetterQueuePolicy", "EventBridgeDeadLetterAlarm"} {
		if r, ok := res[name]; !ok || r.Condition != "HasEventSource" {
			t.Errorf("%s: missing, or not only with StripeEventSourceName (condition %q)", name, r.Condition)
		}
	}
	rule := yamlText(t, res["StripeEventsRule"].Properties)
	for _, want := range []string{"RetryPolicy", "DeadLetterConfig", "aws.partner/stripe.com", "WebhookFunction.Arn"} {
		if !strings.Contains(rule, want) {
			t.Errorf("the rule lacks %s:\n%s", want, rule)
		}
	}
	if !strings.Contains(yamlText(t, res["WebhookFunction"].Properties), "STRIPE_EVENT_SOURCE: !Ref StripeEventSourceName") {
		t.Error("the webhook does not get STRIPE_EVENT_SOURCE")
	}
}

// TestAlarms checks the alarms the issue lists, each sent to the optional
// AlarmEmail's topic.
func TestAlarms(t *testing.T) {
	res, params := loose(t)
	if _, ok := params["AlarmEmail"]; !ok {
		t.Fatal("no parameter AlarmEmail")
	}
	if r := res["AlarmSubscription"]; r.Type != "AWS::SNS::Subscription" || !strings.Contains(yamlText(t, r.Properties), "Protocol: email") {
		t.Error("no email subscription")
	}
	watched := map[string]string{
		"EventFailuresAlarm":      "Alerts",
		"SignatureFailuresAlarm":  "bad_signature",
		"ReconcileMissedAlarm":    "ReconcileMissed",
		"OldestUnhandledAgeAlarm": "86400",
		"EndpointDisabledAlarm":   "EndpointDisabled",
		"ReconcileErrorsAlarm":    "ReconcileFunction",
	}
	var names []string
	for name, want := range watched {
		names = append(names, name)
		r, ok := res[name]
		if !ok || r.Type != "AWS::CloudWatch::Alarm" {
			t.Errorf("no alarm %s", name)
			continue
		}
		text := yamlText(t, r.Properties)
		if !strings.Contains(text, want) || !strings.Contains(text, "AlarmTopic") {
			t.Errorf("%s does not watch %s or notify the topic:\n%s", name, want, text)
		}
	}
	slices.Sort(names)
}

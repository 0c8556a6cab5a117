package deploycheck

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"stripetask/internal/eventbridge"
	"stripetask/internal/pipeline"
	"stripetask/internal/queueworker"
	"stripetask/internal/reconcile"
	"stripetask/internal/webhookhttp"
)

// pipelineFunctions are the functions whose delivery lines carry the
// pipeline's metrics (pipeline.Config.Function), as the bootstraps name
// them.
var pipelineFunctions = []string{"webhook", "worker", reconcile.SourceName}

// metricStat is the part of an alarm's metric the checks read.
type metricStat struct {
	MetricStat struct {
		Metric struct {
			Namespace  string `yaml:"Namespace"`
			MetricName string `yaml:"MetricName"`
			Dimensions []struct {
				Name  string `yaml:"Name"`
				Value string `yaml:"Value"`
			} `yaml:"Dimensions"`
		} `yaml:"Metric"`
	} `yaml:"MetricStat"`
}

// alarm is an AWS::CloudWatch::Alarm's properties, as the checks read them:
// a single metric, or metric math over several.
type alarm struct {
	Namespace  string `yaml:"Namespace"`
	MetricName string `yaml:"MetricName"`
	Dimensions []struct {
		Name  string `yaml:"Name"`
		Value string `yaml:"Value"`
	} `yaml:"Dimensions"`
	Metrics []metricStat `yaml:"Metrics"`
}

// TestAlarmsFollowOutcomeTable holds the template's alarms to the
// pipeline's outcome table (internal/pipeline/outcome.go): the failure alarm
// watches the Alerts metric, which counts exactly the lines of alerting
// outcomes, of every function that runs the pipeline; and any alarm on
// Events by Outcome names an outcome of the closed set that does not alert
// by itself (a burst alarm, such as bad signatures), so that no outcome is
// alarmed twice or by a word the code never logs.
func TestAlarmsFollowOutcomeTable(t *testing.T) {
	res, _ := loose(t)
	var watched []string
	for name, r := range res {
		if r.Type != "AWS::CloudWatch::Alarm" {
			continue
		}
		var a alarm
		if err := r.Properties.Decode(&a); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		stats := []metricStat{}
		if a.MetricName != "" {
			var m metricStat
			m.MetricStat.Metric.Namespace, m.MetricStat.Metric.MetricName = a.Namespace, a.MetricName
			m.MetricStat.Metric.Dimensions = a.Dimensions
			stats = append(stats, m)
		}
		stats = append(stats, a.Metrics...)
		for _, s := range stats {
			m := s.MetricStat.Metric
			if m.Namespace != "Stripetask" {
				continue
			}
			dims := map[string]string{}
			for _, d := range m.Dimensions {
				dims[d.Name] = d.Value
			}
			switch m.MetricName {
			case "Alerts":
				if name != "EventFailuresAlarm" {
					t.Errorf("%s watches Alerts: EventFailuresAlarm alone does", name)
				}
				if len(dims) != 1 || dims["Function"] == "" {
					t.Errorf("%s: Alerts by %v, want by Function alone (the pipeline's directive)", name, dims)
				}
				watched = append(watched, dims["Function"])
			case "Events":
				o, ok := dims["Outcome"]
				if !ok {
					continue
				}
				if !slices.Contains(pipeline.Outcomes(), pipeline.Outcome(o)) {
					t.Errorf("%s watches outcome %q, which is not in the pipeline's closed set", name, o)
				} else if pipeline.Outcome(o).Alerts() {
					t.Errorf("%s watches %s, which alerts by itself through EventFailuresAlarm", name, o)
				}
			}
		}
	}
	slices.Sort(watched)
	want := slices.Clone(pipelineFunctions)
	slices.Sort(want)
	if !slices.Equal(watched, want) {
		t.Errorf("EventFailuresAlarm watches Alerts of %v, want every function that runs the pipeline: %v", watched, want)
	}
}

// TestREADMEOutcomes holds the README's table of outcomes to the code: the
// same closed set, each row's disposition and alerts as the pipeline's
// table says, and each source's column as that source maps it.
func TestREADMEOutcomes(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n### Outcomes\n")
	if !ok {
		t.Fatal("README has no ### Outcomes section")
	}
	seen := map[pipeline.Outcome]bool{}
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			if len(seen) > 0 && !strings.HasPrefix(line, "|") {
				break // the table's end
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if len(cells) != 7 {
			t.Errorf("row %q: %d cells, want 7", line, len(cells))
			continue
		}
		o := pipeline.Outcome(strings.Trim(cells[0], "`"))
		seen[o] = true
		if !slices.Contains(pipeline.Outcomes(), o) {
			t.Errorf("README lists %s, which is not an outcome", o)
			continue
		}
		if cells[1] != o.Disposition().String() {
			t.Errorf("README: %s is %s, the table says %s", o, cells[1], o.Disposition())
		}
		if alerts := cells[2] == "yes"; alerts != o.Alerts() {
			t.Errorf("README: %s alerts %q, the table says %v", o, cells[2], o.Alerts())
		}
		if w := cells[3]; w != "-" {
			if code, _, _ := strings.Cut(w, ","); code != strconv.Itoa(webhookhttp.Status(o)) {
				t.Errorf("README: the webhook answers %s with %s, the code with %d", o, w, webhookhttp.Status(o))
			}
		}
		if q := cells[4]; q != "-" && strings.HasPrefix(q, "deleted") != queueworker.Succeeded(o) {
			t.Errorf("README: the worker %s %s; Succeeded is %v", q, o, queueworker.Succeeded(o))
		}
		if e := cells[5]; e != "-" && strings.HasPrefix(e, "error") != eventbridge.Failed(o) {
			t.Errorf("README: EventBridge %s %s; Failed is %v", e, o, eventbridge.Failed(o))
		}
		if r := cells[6]; r != "-" && strings.HasPrefix(r, "pending") != reconcile.StaysPending(o) {
			t.Errorf("README: the reconciler %s %s; StaysPending is %v", r, o, reconcile.StaysPending(o))
		}
	}
	for _, o := range pipeline.Outcomes() {
		if !seen[o] {
			t.Errorf("README's Outcomes table lacks %s", o)
		}
	}
}

package deploycheck

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"stripetask/internal/function"
	"stripetask/internal/lambdarie"
)

// httpAPILimit is API Gateway's HTTP API integration timeout: 30 s, fixed.
const httpAPILimit = 30 * time.Second

// TestTimeoutsAgree holds the template's function timeout to the HTTP API's
// limit and to the code's margins: the function must answer before the
// gateway gives up, and the time the code keeps to settle and answer
// (function.Tail) must leave most of the invocation to the handler.
func TestTimeoutsAgree(t *testing.T) {
	tpl := readTemplate(t)
	node, ok := tpl.Globals.Function["Timeout"]
	if !ok {
		t.Fatal("template.yaml: Globals.Function.Timeout is not set")
	}
	secs, err := strconv.Atoi(node.Value)
	if err != nil {
		t.Fatalf("Globals.Function.Timeout %q: %v", node.Value, err)
	}
	timeout := time.Duration(secs) * time.Second
	if timeout >= httpAPILimit {
		t.Errorf("function timeout %v is not below the HTTP API's %v: the gateway would answer instead of the function", timeout, httpAPILimit)
	}
	tail := function.Tail(timeout)
	if tail != function.MaxTail {
		t.Errorf("at %v the code keeps %v, not its full %v: raise the timeout", timeout, tail, function.MaxTail)
	}
	if timeout-tail < 10*time.Second {
		t.Errorf("handlers get only %v of %v", timeout-tail, timeout)
	}
}

// TestLambdaBuildMatchesRIETests checks that the bootstraps make test runs
// under aws-lambda-rie are built as the Makefile builds them for Lambda.
func TestLambdaBuildMatchesRIETests(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	want := "LAMBDA_GOEXPERIMENT ?= " + lambdarie.Experiment + "\n"
	if !strings.Contains(string(mk), want) {
		t.Errorf("the Makefile does not set %q, the experiment internal/lambdarie builds with", strings.TrimSpace(want))
	}
	for _, flag := range []string{"-tags lambda.norpc", "-trimpath", "-ldflags='-s -w'", "CGO_ENABLED=0"} {
		if !strings.Contains(string(mk), flag) {
			t.Errorf("the Makefile's Lambda build lacks %s, which internal/lambdarie builds with", flag)
		}
	}
}

// Package deploycheck has no code: its tests hold the deployment files at
// the repository's root (template.yaml, env.json and the Makefile's build
// targets) to the code they deploy, and the local-development targets and
// scripts (`make tools`, `make run`, `make run-pay`, `make send`, `make
// events`; scripts/) to what the README promises (local_test.go).
package deploycheck

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"stripetask/internal/devtools"
	"stripetask/internal/payapi"
)

// root is the repository's root, from this package's directory.
const root = "../.."

// samTemplate is the part of template.yaml these tests read.
type samTemplate struct {
	Globals struct {
		Function map[string]yaml.Node `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]struct {
		Type     string `yaml:"Type"`
		Metadata struct {
			BuildMethod string `yaml:"BuildMethod"`
		} `yaml:"Metadata"`
		Properties struct {
			Environment struct {
				Variables map[string]yaml.Node `yaml:"Variables"`
			} `yaml:"Environment"`
			Events map[string]struct {
				Type       string `yaml:"Type"`
				Properties struct {
					Path   string `yaml:"Path"`
					Method string `yaml:"Method"`
				} `yaml:"Properties"`
			} `yaml:"Events"`
		} `yaml:"Properties"`
	} `yaml:"Resources"`
	Outputs map[string]yaml.Node `yaml:"Outputs"`
}

func readTemplate(t *testing.T) samTemplate {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tpl samTemplate
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return tpl
}

// routesOf returns a function's HttpApi routes, as "METHOD /path" with
// {param} placeholders named as in ServeMux patterns.
func routesOf(t *testing.T, tpl samTemplate, function string) []string {
	t.Helper()
	fn, ok := tpl.Resources[function]
	if !ok {
		t.Fatalf("template.yaml has no %s", function)
	}
	var routes []string
	for name, ev := range fn.Properties.Events {
		if ev.Type != "HttpApi" {
			t.Errorf("%s event %s is %s, want HttpApi", function, name, ev.Type)
		}
		routes = append(routes, strings.ToUpper(ev.Properties.Method)+" "+ev.Properties.Path)
	}
	slices.Sort(routes)
	return routes
}

// TestTemplateRoutesMatchCode checks that API Gateway sends each function
// exactly the routes its code serves.
func TestTemplateRoutesMatchCode(t *testing.T) {
	tpl := readTemplate(t)
	if got, want := routesOf(t, tpl, "WebhookFunction"), []string{"POST /webhook"}; !slices.Equal(got, want) {
		t.Errorf("WebhookFunction routes %q, want %q", got, want)
	}
	want := payapi.Routes()
	slices.Sort(want)
	if got := routesOf(t, tpl, "PayFunction"); !slices.Equal(got, want) {
		t.Errorf("PayFunction routes in template.yaml:\n  %q\nroutes the pay function serves:\n  %q", got, want)
	}
}

// TestTemplateWiring checks what the functions need from the template:
// the makefile build, the secret, the dedup table, the outputs.
func TestTemplateWiring(t *testing.T) {
	tpl := readTemplate(t)
	for _, fn := range []string{"WebhookFunction", "PayFunction", "ReconcileFunction"} {
		if m := tpl.Resources[fn].Metadata.BuildMethod; m != "makefile" {
			t.Errorf("%s BuildMethod %q, want makefile", fn, m)
		}
	}
	if _, ok := tpl.Globals.Function["Environment"]; !ok {
		t.Error("Globals set no environment (SECRETS_ID)")
	}
	if _, ok := tpl.Resources["WebhookFunction"].Properties.Environment.Variables["DEDUP_TABLE"]; !ok {
		t.Error("WebhookFunction has no DEDUP_TABLE")
	}
	for _, out := range []string{"WebhookUrl", "PayApiUrl", "SecretArn", "DedupTable"} {
		if _, ok := tpl.Outputs[out]; !ok {
			t.Errorf("no output %s", out)
		}
	}
	// sam build runs `make build-<Function>`: the targets must exist.
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for fn := range tpl.Resources {
		if tpl.Resources[fn].Type == "AWS::Serverless::Function" && !strings.Contains(string(mk), "\nbuild-"+fn+":") {
			t.Errorf("Makefile has no build-%s target", fn)
		}
	}
}

// TestEnvJSON checks env.json, the environment of `sam local invoke
// --env-vars`: one entry per function, every variable declared in the
// template (SAM ignores the others), and the webhook secret that signs the
// fixtures (the Makefile's LOCAL_WEBHOOK_SECRET).
func TestEnvJSON(t *testing.T) {
	tpl := readTemplate(t)
	raw, err := os.ReadFile(filepath.Join(root, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	for fn, vars := range env {
		res, ok := tpl.Resources[fn]
		if !ok {
			t.Errorf("env.json names %s, which the template lacks", fn)
			continue
		}
		for name := range vars {
			_, local := res.Properties.Environment.Variables[name]
			_, global := globalVariables(t, tpl)[name]
			if !local && !global {
				t.Errorf("env.json sets %s.%s, which the template does not declare: sam local would ignore it", fn, name)
			}
		}
		if vars["SECRETS_ID"] != "" {
			t.Errorf("env.json must blank %s.SECRETS_ID so the function reads its environment", fn)
		}
	}
	mk, _ := os.ReadFile(filepath.Join(root, "Makefile"))
	if w := env["WebhookFunction"]["STRIPE_WEBHOOK_SECRET"]; w == "" || !strings.Contains(string(mk), "LOCAL_WEBHOOK_SECRET := "+w+"\n") {
		t.Errorf("env.json's STRIPE_WEBHOOK_SECRET %q is not the Makefile's LOCAL_WEBHOOK_SECRET", w)
	}
}

func globalVariables(t *testing.T, tpl samTemplate) map[string]yaml.Node {
	t.Helper()
	node, ok := tpl.Globals.Function["Environment"]
	if !ok {
		return nil
	}
	var env struct {
		Variables map[string]yaml.Node `yaml:"Variables"`
	}
	if err := node.Decode(&env); err != nil {
		t.Fatal(err)
	}
	return env.Variables
}

// TestCfnLint runs cfn-lint (1.x, with the SAM translator) on the template:
// no errors and no warnings.
func TestCfnLint(t *testing.T) {
	bin, err := devtools.Find("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint (1.x, with the SAM translator) checks template.yaml: %v (it uses cfn-lint from PATH, or installs it into ./bin/venv with pip)", err)
	}
	cmd := exec.Command(bin, "template.yaml")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("cfn-lint template.yaml: %v\n%s", err, out)
	}
}

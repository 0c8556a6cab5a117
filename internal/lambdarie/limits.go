package lambdarie

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"stripetask/internal/devtools"
)

// Sentinel errors of CheckLimits, for errors.Is.
var (
	// ErrInitLimit reports an Init phase longer than Config.InitLimit.
	ErrInitLimit = errors.New("init phase over its limit")
	// ErrMemoryLimit reports a peak RSS over Config.MemoryMB.
	ErrMemoryLimit = errors.New("memory over the function's MemorySize")
)

// CheckLimits returns the limits the environment exceeded, each an error
// wrapping ErrInitLimit or ErrMemoryLimit: an Init phase (exec to first
// /next) longer than Config.InitLimit, finished or still running, and a
// peak RSS (VmHWM) over Config.MemoryMB. Run's cleanup fails the test
// with it, after Stop; a caller of Start calls it after Stop.
//
// Lambda ends an Init phase at its limit (and retries it in the first
// invocation) and an environment that runs out of memory; the harness
// lets both run on and fails the test instead, saying which.
func (f *Function) CheckLimits() error { return f.env.limitErrors() }

// Limits are a function's limits in template.yaml.
type Limits struct {
	// Timeout is the function timeout (Timeout, in seconds).
	Timeout time.Duration
	// MemoryMB is the memory size (MemorySize, in MB).
	MemoryMB int
}

// Apply returns c with l's timeout and memory size.
func (l Limits) Apply(c Config) Config {
	c.Timeout, c.MemoryMB = l.Timeout, l.MemoryMB
	return c
}

// Lambda's defaults, for a function whose template sets neither its own
// nor a global value (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html,
// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
const (
	defaultTemplateTimeout = 3 // seconds
	defaultTemplateMemory  = 128
)

// TemplateLimits returns the Timeout and MemorySize of resource (such as
// "WebhookFunction") in the module's template.yaml; an error fails the
// test.
func TemplateLimits(tb testing.TB, resource string) Limits {
	tb.Helper()
	root, err := devtools.ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	l, err := ReadTemplateLimits(filepath.Join(root, "template.yaml"), resource)
	if err != nil {
		tb.Fatal(err)
	}
	return l
}

// ReadTemplateLimits reads resource's Timeout and MemorySize from the SAM
// template at path: the resource's Properties, else, for an
// AWS::Serverless::Function, Globals.Function, else Lambda's defaults. A
// value may be a number or a !Ref to a parameter, which gives its
// Default; other intrinsic functions (!If, !FindInMap, ...) are an error.
func ReadTemplateLimits(path, resource string) (Limits, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Limits{}, fmt.Errorf("lambdarie: %w", err)
	}
	var tpl struct {
		Parameters map[string]struct {
			Default yaml.Node `yaml:"Default"`
		} `yaml:"Parameters"`
		Globals struct {
			Function map[string]yaml.Node `yaml:"Function"`
		} `yaml:"Globals"`
		Resources map[string]struct {
			Type       string               `yaml:"Type"`
			Properties map[string]yaml.Node `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(raw, &tpl); err != nil {
		return Limits{}, fmt.Errorf("lambdarie: %s: %w", path, err)
	}
	res, ok := tpl.Resources[resource]
	if !ok {
		return Limits{}, fmt.Errorf("lambdarie: %s has no resource %s", path, resource)
	}
	serverless := res.Type == "AWS::Serverless::Function"
	if !serverless && res.Type != "AWS::Lambda::Function" {
		return Limits{}, fmt.Errorf("lambdarie: %s in %s is a %s, not a function", resource, path, res.Type)
	}
	value := func(key string, def int) (int, error) {
		n, ok := res.Properties[key]
		if !ok && serverless {
			n, ok = tpl.Globals.Function[key]
		}
		if !ok {
			return def, nil
		}
		if n.Tag == "!Ref" {
			p, ok := tpl.Parameters[n.Value]
			if !ok {
				return 0, fmt.Errorf("lambdarie: %s's %s: !Ref %s: no such parameter", resource, key, n.Value)
			}
			if p.Default.Kind == 0 {
				return 0, fmt.Errorf("lambdarie: %s's %s: !Ref %s: the parameter has no Default", resource, key, n.Value)
			}
			n = p.Default
		}
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!str") {
			return 0, fmt.Errorf("lambdarie: %s's %s at line %d: %s %q is not a number or a !Ref to a parameter", resource, key, n.Line, n.Tag, n.Value)
		}
		v, err := strconv.Atoi(n.Value)
		if err != nil || v <= 0 {
			return 0, fmt.Errorf("lambdarie: %s's %s at line %d: %q is not a positive whole number", resource, key, n.Line, n.Value)
		}
		return v, nil
	}
	timeout, err := value("Timeout", defaultTemplateTimeout)
	if err != nil {
		return Limits{}, err
	}
	memory, err := value("MemorySize", defaultTemplateMemory)
	if err != nil {
		return Limits{}, err
	}
	return Limits{Timeout: time.Duration(timeout) * time.Second, MemoryMB: memory}, nil
}

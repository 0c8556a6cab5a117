package main

import (
	"context"
	"encoding/json"
	"go/build"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/internal/bootstrap"
	"stripetask/internal/dedup"
	"stripetask/internal/dedup/deduptest"
	"stripetask/internal/fixture"
	"stripetask/internal/function"
	"stripetask/internal/transport"
	"stripetask/secrets"
)

// probes records, at points deep in one delivery, which of the project's
// packages are on the stack, outermost first.
type probes struct {
	mu     sync.Mutex
	chains map[string][]string // probe name -> packages, at its last visit
	visits map[string]int
}

func (p *probes) record(name string) {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var chain []string // innermost first
	for {
		f, more := frames.Next()
		if pkg := projectPackage(f.Function); pkg != "" && pkg != testPackage {
			chain = append(chain, pkg)
		}
		if !more {
			break
		}
	}
	slices.Reverse(chain)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.chains[name] = slices.Compact(chain) // consecutive frames of one package are one visit
	p.visits[name]++
}

// testPackage is this test's package, which holds the probes, the Handler
// and the test itself: its frames are left out of the chains.
const testPackage = "stripetask/functions/webhook"

// projectPackage returns the import path of a function's package if it is
// one of the project's, else "".
func projectPackage(fn string) string {
	if !strings.HasPrefix(fn, "stripetask/") {
		return ""
	}
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash:], '.')
	return fn[:slash+dot]
}

// flowHandler records the stack when its method runs.
type flowHandler struct {
	dispatch.Env
	p *probes
}

func (h *flowHandler) ChargeSucceeded(ctx context.Context, c *stripe.Charge) error {
	h.p.record("handler method")
	return nil
}

// probedSource and probedStore record the stack when the pipeline reaches
// the secrets and the dedup store; they pass every call to the real thing.
type probedSource struct {
	secrets.Source
	p *probes
}

func (s probedSource) Load(ctx context.Context) (secrets.Map, error) {
	s.p.record("secrets load")
	return s.Source.Load(ctx)
}

type probedStore struct {
	dedup.Store
	p *probes
}

func (s probedStore) Claim(ctx context.Context, id string, c dedup.Claim) error {
	s.p.record("dedup claim")
	return s.Store.Claim(ctx, id, c)
}

func (s probedStore) Complete(ctx context.Context, id, owner string) error {
	s.p.record("dedup complete")
	return s.Store.Complete(ctx, id, owner)
}

// TestOneWayFlow checks the runtime's shape on one real delivery (a Lambda
// HTTP API event, a real DynamoDB store on moto): at every point it
// reaches, each project package is on the stack at most once, and all
// points agree on one order, transport → webhookhttp → pipeline → dispatch
// → the Handler. No package calls back up into one that called it.
func TestOneWayFlow(t *testing.T) {
	store, _ := deduptest.Store(t, "flow")
	p := &probes{chains: map[string][]string{}, visits: map[string]int{}}
	d, err := dispatch.New(flowHandler{p: p})
	if err != nil {
		t.Fatal(err)
	}
	src := probedSource{Source: secrets.Static{"STRIPE_WEBHOOK_SECRET": localSecret}, p: p}
	h := bootstrap.NewWebhook(function.Deps{Secrets: src, RequestID: transport.RequestID}, d, probedStore{Store: store, p: p}, 0)

	body := `{"id":"evt_flow","object":"event","type":"charge.succeeded","data":{"object":{"id":"ch_1","object":"charge"}}}`
	e := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RawPath: "/webhook", Body: body,
		Headers:        map[string]string{"stripe-signature": fixture.Sign([]byte(body), localSecret, time.Now())},
		RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "req-flow", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/webhook"}},
	}
	// The cold start warms the function before the first delivery, as
	// bootstrap does; the delivery's own flow starts after it.
	if _, err := h.Warm(t.Context()); err != nil {
		t.Fatal(err)
	}
	clear(p.chains)
	clear(p.visits)
	payload, _ := json.Marshal(e)
	out, err := transport.NewLambdaHandler(h).Invoke(t.Context(), payload)
	if err != nil || !strings.Contains(string(out), `"statusCode":200`) {
		t.Fatalf("delivery: %v %s", err, out)
	}

	want := map[string][]string{
		"secrets load":   {"stripetask/internal/transport", "stripetask/internal/webhookhttp"},
		"dedup claim":    {"stripetask/internal/transport", "stripetask/internal/webhookhttp", "stripetask/internal/pipeline"},
		"handler method": {"stripetask/internal/transport", "stripetask/internal/webhookhttp", "stripetask/internal/pipeline", "stripetask/dispatch"},
		"dedup complete": {"stripetask/internal/transport", "stripetask/internal/webhookhttp", "stripetask/internal/pipeline"},
	}
	for name, chain := range p.chains {
		seen := map[string]bool{}
		for _, pkg := range chain {
			if seen[pkg] {
				t.Errorf("%s: %s entered twice on one stack: %q", name, pkg, chain)
			}
			seen[pkg] = true
		}
	}
	// One order for all: if A is above B on one stack, B is never above A
	// on another.
	above := map[[2]string]bool{}
	for name, chain := range p.chains {
		for i := range chain {
			for j := i + 1; j < len(chain); j++ {
				if above[[2]string{chain[j], chain[i]}] {
					t.Errorf("%s: %s calls %s, which elsewhere calls it", name, chain[i], chain[j])
				}
				above[[2]string{chain[i], chain[j]}] = true
			}
		}
	}
	for name, w := range want {
		if n := p.visits[name]; n != 1 {
			t.Errorf("%s: reached %d times in one delivery, want once", name, n)
		}
		got, ok := p.chains[name]
		if !ok {
			t.Errorf("the delivery never reached %s", name)
			continue
		}
		if !slices.Equal(got, w) {
			t.Errorf("%s: stack %q, want %q", name, got, w)
		}
	}
}

// TestPackageDependencies holds the packages to what each must not know:
// the pipeline knows no transport, the stores know no Stripe, the user's
// contract knows no runtime. direct lists packages a package must not import
// itself; reach lists project packages it must not depend on at all.
func TestPackageDependencies(t *testing.T) {
	tests := []struct {
		pkg           string
		direct, reach []string
	}{
		{"stripetask/internal/pipeline", []string{"net/http", "github.com/aws/aws-lambda-go"}, []string{"stripetask/internal/webhookhttp", "stripetask/internal/transport"}},
		{"stripetask/internal/dedup", []string{"github.com/stripe/stripe-go/v76"}, []string{"stripetask/dispatch", "stripetask/secrets"}},
		{"stripetask/secrets", []string{"github.com/stripe/stripe-go/v76"}, []string{"stripetask/dispatch", "stripetask/internal/"}},
		{"stripetask/dispatch", []string{"net/http"}, []string{"stripetask/internal/"}},
		{"stripetask/internal/webhookhttp", []string{"stripetask/dispatch", "stripetask/internal/dedup"}, []string{"stripetask/internal/transport"}},
		{"stripetask/internal/transport", nil, []string{"stripetask/"}},
		{"stripetask/internal/stripeclient", nil, []string{"stripetask/dispatch", "stripetask/internal/pipeline"}},
	}
	matches := func(imp, rule string) bool {
		return imp == rule || strings.HasPrefix(imp, strings.TrimSuffix(rule, "/")+"/")
	}
	for _, tt := range tests {
		bp, err := build.Import(tt.pkg, ".", 0)
		if err != nil {
			t.Fatalf("%s: %v", tt.pkg, err)
		}
		for _, imp := range bp.Imports {
			for _, rule := range tt.direct {
				if matches(imp, rule) {
					t.Errorf("%s imports %s", tt.pkg, imp)
				}
			}
		}
		for imp := range projectDeps(t, tt.pkg, map[string]bool{}) {
			for _, rule := range tt.reach {
				if matches(imp, rule) {
					t.Errorf("%s depends on %s", tt.pkg, imp)
				}
			}
		}
	}
}

// projectDeps returns the project's packages pkg depends on, directly or
// not.
func projectDeps(t *testing.T, pkg string, seen map[string]bool) map[string]bool {
	t.Helper()
	bp, err := build.Import(pkg, ".", 0)
	if err != nil {
		t.Fatalf("%s: %v", pkg, err)
	}
	for _, imp := range bp.Imports {
		if seen[imp] || !strings.HasPrefix(imp, "stripetask/") {
			continue
		}
		seen[imp] = true
		projectDeps(t, imp, seen)
	}
	return seen
}

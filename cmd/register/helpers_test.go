package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stripe/stripe-go/v76"

	"stripetask/dispatch"
	"stripetask/handler"
	"stripetask/internal/moto"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripemock"
)

// Secret values the tests put in Secrets Manager or have Stripe return.
// None of them, nor "whsec_" at all, may appear in the command's output.
const (
	newSigningSecret  = "whsec_stubNEWsigningSECRET0123456789"
	prevSigningSecret = "whsec_PREVIOUSsigningSECRETabcdef"
	olderSigningSec   = "whsec_OLDERsigningSECRETfedcba"
	otherKeyValue     = "sk_live_OTHERkeyVALUEthatMUSTstay"
)

// handlerEvents is the table the dispatcher builds from handler.Handler:
// what the command must register by default.
func handlerEvents(t *testing.T) []string {
	t.Helper()
	d, err := dispatch.New(handler.Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.EventTypes()) == 0 {
		t.Fatal("handler.Handler has no event methods; the tests need some")
	}
	return d.EventTypes()
}

// recorded is one request the command sent to the Stripe API.
type recorded struct {
	Method, Path string
	Form         url.Values
}

// recorder is an http.RoundTripper that records every request to the
// Stripe API (stripe-mock or the stub) before sending it on.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	if req.Method == http.MethodGet {
		form = req.URL.Query()
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, form})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) all() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// writes returns the requests other than GET: every Stripe write.
func (r *recorder) writes() []recorded {
	var w []recorded
	for _, q := range r.all() {
		if q.Method != http.MethodGet {
			w = append(w, q)
		}
	}
	return w
}

// stripeFactory returns a Config.Stripe that records through rec.
func stripeFactory(rec *recorder) func(key, base string) EndpointsAPI {
	return func(key, base string) EndpointsAPI {
		return stripeclient.New(key, base, &http.Client{Transport: rec}, slog.New(slog.DiscardHandler)).WebhookEndpoints
	}
}

// formList decodes a list parameter as stripe-go encodes it: name[0], name[1], ...
func formList(form url.Values, name string) []string {
	var out []string
	for i := 0; ; i++ {
		v, ok := form[name+"["+strconv.Itoa(i)+"]"]
		if !ok {
			return out
		}
		out = append(out, v...)
	}
}

// stubEndpoint is an existing endpoint of the stub Stripe API.
type stubEndpoint struct {
	ID, URL, APIVersion, Status string
	Events                      []string
	Metadata                    map[string]string
	Connect                     bool // as created; the API does not show it
}

// json renders the endpoint the way the Stripe API does (a real
// webhook_endpoint object); secret is included only when set, as on create.
func (e stubEndpoint) json(secret string) map[string]any {
	m := map[string]any{
		"id":             e.ID,
		"object":         "webhook_endpoint",
		"api_version":    nil,
		"application":    nil,
		"created":        1680122196,
		"description":    nil,
		"enabled_events": e.Events,
		"livemode":       false,
		"metadata":       map[string]string{},
		"status":         e.Status,
		"url":            e.URL,
	}
	if e.APIVersion != "" {
		m["api_version"] = e.APIVersion
	}
	if e.Metadata != nil {
		m["metadata"] = e.Metadata
	}
	if secret != "" {
		m["secret"] = secret
	}
	return m
}

// stubStripe is a small Stripe API for what stripe-mock cannot do: its
// create response has no signing secret, and its list always returns one
// fixture endpoint with no api_version. It serves the webhook endpoint
// routes with Stripe's real object shapes, one endpoint per list page so
// that the command's auto-paging is exercised.
type stubStripe struct {
	mu        sync.Mutex
	endpoints []stubEndpoint
	secret    string // returned by create; "" for none
	URL       string
}

func startStub(t *testing.T, secret string, existing ...stubEndpoint) *stubStripe {
	t.Helper()
	s := &stubStripe{endpoints: existing, secret: secret}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/webhook_endpoints", s.list)
	mux.HandleFunc("POST /v1/webhook_endpoints", s.create)
	mux.HandleFunc("POST /v1/webhook_endpoints/{id}", s.update)
	mux.HandleFunc("DELETE /v1/webhook_endpoints/{id}", s.del)
	srv := httptest.NewServer(mux) // 127.0.0.1
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, id string) {
	writeJSON(w, 404, map[string]any{"error": map[string]any{"type": "invalid_request_error", "message": "No such webhook endpoint: '" + id + "'"}})
}

func (s *stubStripe) list(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	if after := r.URL.Query().Get("starting_after"); after != "" {
		start = slices.IndexFunc(s.endpoints, func(e stubEndpoint) bool { return e.ID == after }) + 1
	}
	data := []any{}
	if start < len(s.endpoints) {
		data = append(data, s.endpoints[start].json(""))
	}
	writeJSON(w, 200, map[string]any{"object": "list", "url": "/v1/webhook_endpoints", "has_more": start+1 < len(s.endpoints), "data": data})
}

func (s *stubStripe) create(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ParseForm()
	e := stubEndpoint{ID: fmt.Sprintf("we_stub%d", len(s.endpoints)+1), URL: r.PostForm.Get("url"), APIVersion: r.PostForm.Get("api_version"), Status: "enabled", Events: formList(r.PostForm, "enabled_events"),
		Connect: r.PostForm.Get("connect") == "true", Metadata: map[string]string{}}
	for k, v := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "metadata["); ok {
			e.Metadata[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	s.endpoints = append(s.endpoints, e)
	m := e.json(s.secret)
	m["description"] = r.PostForm.Get("description")
	writeJSON(w, 200, m)
}

func (s *stubStripe) update(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.ParseForm()
	i := slices.IndexFunc(s.endpoints, func(e stubEndpoint) bool { return e.ID == r.PathValue("id") })
	if i < 0 {
		notFound(w, r.PathValue("id"))
		return
	}
	e := &s.endpoints[i]
	if ev := formList(r.PostForm, "enabled_events"); ev != nil {
		e.Events = ev
	}
	if r.PostForm.Get("disabled") == "false" {
		e.Status = "enabled"
	}
	writeJSON(w, 200, e.json(""))
}

// current returns the stub's endpoints now.
func (s *stubStripe) current() []stubEndpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.endpoints)
}

func (s *stubStripe) del(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("id")
	i := slices.IndexFunc(s.endpoints, func(e stubEndpoint) bool { return e.ID == id })
	if i < 0 {
		notFound(w, id)
		return
	}
	s.endpoints = slices.Delete(s.endpoints, i, i+1)
	writeJSON(w, 200, map[string]any{"id": id, "object": "webhook_endpoint", "deleted": true})
}

// awsEnv is a moto_server with the SDK's environment pointing at it.
type awsEnv struct {
	sm  *secretsmanager.Client
	cfn *cloudformation.Client
}

func startAWS(t *testing.T) *awsEnv {
	t.Helper()
	srv := moto.Start(t)
	cfg := srv.Config(t)
	return &awsEnv{sm: secretsmanager.NewFromConfig(cfg), cfn: cloudformation.NewFromConfig(cfg)}
}

// createSecret creates a secret with a SecretString and returns its ARN.
func (a *awsEnv) createSecret(t *testing.T, name, value string) string {
	t.Helper()
	out, err := a.sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.ARN)
}

// secret returns a secret's current value and version id.
func (a *awsEnv) secret(t *testing.T, id string) (value, version string) {
	t.Helper()
	out, err := a.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.SecretString), aws.ToString(out.VersionId)
}

// putSecret sets a secret's value.
func (a *awsEnv) putSecret(t *testing.T, id, value string) {
	t.Helper()
	if _, err := a.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(value)}); err != nil {
		t.Fatal(err)
	}
}

// versions returns how many times the secret was written since it had the
// version id since: 0, 1, or 2 for more than one.
func (a *awsEnv) versions(t *testing.T, id, since string) int {
	t.Helper()
	if _, cur := a.secret(t, id); cur == since {
		return 0
	}
	out, err := a.sm.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.VersionId) == since {
		return 1
	}
	return 2
}

// createStack creates a CloudFormation stack whose outputs are the given
// literal values. Its one resource is an SSM parameter: moto 5 cannot create
// an AWS::SecretsManager::Secret from a template, so the secret is created
// through the API and its ARN passed here as an output.
func (a *awsEnv) createStack(t *testing.T, name string, outputs map[string]string) {
	t.Helper()
	outs := map[string]any{}
	for k, v := range outputs {
		outs[k] = map[string]any{"Value": v}
	}
	tpl, err := json.Marshal(map[string]any{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Resources": map[string]any{
			"Marker": map[string]any{"Type": "AWS::SSM::Parameter", "Properties": map[string]any{"Name": "/" + name + "/marker", "Type": "String", "Value": name}},
		},
		"Outputs": outs,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.cfn.CreateStack(t.Context(), &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(string(tpl))}); err != nil {
		t.Fatal(err)
	}
}

// result is one run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs the command as main does, against the Stripe API at apiBase
// (recorded by rec), with setup adjusting the Config.
func runCLI(t *testing.T, apiBase string, rec *recorder, setup func(*Config), args ...string) result {
	t.Helper()
	env := map[string]string{"STRIPE_KEY": stripemock.Key, "STRIPE_API_BASE": apiBase}
	var stdout, stderr bytes.Buffer
	code := cli(context.Background(), args, func(k string) string { return env[k] }, &stdout, &stderr, func(c *Config) {
		c.Stripe = stripeFactory(rec)
		if setup != nil {
			setup(c)
		}
	})
	r := result{code, stdout.String(), stderr.String()}
	t.Logf("register %s: exit %d\nstdout:\n%sstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	noSecretsIn(t, r)
	return r
}

// noSecretsIn fails if the output holds a secret value or any part of one.
func noSecretsIn(t *testing.T, r result) {
	t.Helper()
	out := r.stdout + r.stderr
	for _, s := range []string{"whsec_", "signingSECRET", "SECRET0123", stripemock.Key, otherKeyValue, "OTHERkey"} {
		if strings.Contains(out, s) {
			t.Errorf("the output contains %q", s)
		}
	}
}

// decodeSecret decodes a SecretString into a map for comparison.
func decodeSecret(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("the secret is not a JSON object: %v", err)
	}
	return m
}

// listFixture returns stripe-mock's fixture webhook endpoint.
func listFixture(t *testing.T, apiBase string) *stripe.WebhookEndpoint {
	t.Helper()
	api := stripeclient.New(stripemock.Key, apiBase, http.DefaultClient, slog.New(slog.DiscardHandler))
	it := api.WebhookEndpoints.List(&stripe.WebhookEndpointListParams{})
	if !it.Next() {
		t.Fatalf("stripe-mock lists no webhook endpoint: %v", it.Err())
	}
	return it.WebhookEndpoint()
}

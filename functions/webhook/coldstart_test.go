package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"stripetask/internal/lambdarie"
	"stripetask/internal/moto"
)

// coldRounds counts BenchmarkColdStart's iterations over all its rounds
// (-test.count), so that the order of the two functions alternates.
var coldRounds int

// coldFunction is a bootstrap BenchmarkColdStart starts.
type coldFunction struct {
	name, bin string
	size      int64 // bytes
}

// BenchmarkColdStart measures cold starts of the webhook's bootstrap under
// aws-lambda-rie against a hello-world aws-lambda-go bootstrap built the
// same way (lambdarie.HelloPackage), for `make bench` (scripts/bench-coldstart).
// Each iteration starts each function once, the two alternating which goes
// first, and invokes it with a signed charge.succeeded delivery, which the
// webhook handles without calling Stripe:
//
//   - cold: from starting RIE to the first invocation's answer. RIE starts
//     the bootstrap at the first invocation, as Lambda does, so this
//     includes RIE's own start, the process start and the function's
//     initialisation (secrets, dispatch table, Stripe client);
//   - first: the first invocation alone.
//
// It reports the medians over its iterations (run it with -test.benchtime
// 1x and -test.count N for N interleaved rounds), their ratios webhook/hello
// and the sizes of the two executables; not ns/op. The variants take the
// secrets from the environment and from Secrets Manager (SECRETS_ID, on
// moto); hello gets the same environment and reads nothing.
func BenchmarkColdStart(b *testing.B) {
	fns := []coldFunction{
		{name: "webhook", bin: lambdarie.Build(b, "./functions/webhook")},
		{name: "hello", bin: lambdarie.Build(b, lambdarie.HelloPackage)},
	}
	for i := range fns {
		info, err := os.Stat(fns[i].bin)
		if err != nil {
			b.Fatal(err)
		}
		fns[i].size = info.Size()
	}
	delivery := filepath.Join(fixturesDir, "charge.succeeded.json")
	// charge.succeeded calls no Stripe API: a call would fail at once.
	secrets := rieEnv("http://127.0.0.1:1")
	variants := []struct {
		name string
		env  func(b *testing.B) map[string]string
	}{
		{"secrets=env", func(b *testing.B) map[string]string { return secrets }},
		{"secrets=secretsmanager", func(b *testing.B) map[string]string {
			srv := moto.Start(b)
			createSecret(b, srv.Config(b), "stripetask/coldstart", secrets)
			return motoEnv(srv, "SECRETS_ID", "stripetask/coldstart")
		}},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			env := v.env(b)
			cold := map[string][]time.Duration{}
			first := map[string][]time.Duration{}
			for b.Loop() {
				order := fns
				if coldRounds%2 == 1 {
					order = []coldFunction{fns[1], fns[0]}
				}
				coldRounds++
				for _, fn := range order {
					c, f := coldStart(b, fn, env, resigned(b, delivery))
					cold[fn.name] = append(cold[fn.name], c)
					first[fn.name] = append(first[fn.name], f)
				}
			}
			b.ReportMetric(0, "ns/op")
			for _, m := range []struct {
				name string
				d    map[string][]time.Duration
			}{{"cold", cold}, {"first", first}} {
				w, h := median(m.d["webhook"]), median(m.d["hello"])
				b.ReportMetric(ms(w), "webhook-"+m.name+"-ms")
				b.ReportMetric(ms(h), "hello-"+m.name+"-ms")
				b.ReportMetric(float64(w)/float64(h), m.name+"-ratio")
			}
			for _, fn := range fns {
				b.ReportMetric(float64(fn.size)/1e6, fn.name+"-MB")
			}
		})
	}
}

// coldStart starts fn under RIE with env, invokes it once with payload and
// stops it. It returns the time from the start to the answer, and that of
// the invocation alone.
func coldStart(b *testing.B, fn coldFunction, env map[string]string, payload []byte) (cold, first time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	start := time.Now()
	f, err := lambdarie.Start(ctx, lambdarie.Config{Bootstrap: fn.bin, Env: env})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := f.Stop(); err != nil {
			b.Error(err)
		}
	}()
	r, err := f.Invoke(ctx, payload)
	cold = time.Since(start)
	if err != nil {
		b.Fatal(err)
	}
	var res struct {
		StatusCode int    `json:"statusCode"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(r.Body, &res); err != nil || r.Status != 200 || res.StatusCode != 200 ||
		(fn.name == "webhook" && !strings.Contains(res.Body, `"handled"`)) {
		b.Fatalf("%s answered %d %s (%v); output:\n%s\nRIE log:\n%s", fn.name, r.Status, r.Body, err, r.Output, f.RIELog())
	}
	return cold, r.Duration
}

// median returns the median of ds, which must not be empty.
func median(ds []time.Duration) time.Duration {
	s := slices.Sorted(slices.Values(ds))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

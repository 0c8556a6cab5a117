// Command send delivers a webhook fixture to a running local webhook (`make
// run`) as Stripe would: it signs the fixture's body afresh and POSTs it,
// then prints the response's status and body. `make send EVENT=...` runs it.
//
// Usage:
//
//	go run ./cmd/send [-url URL] [-secret whsec_...] EVENT|FILE
//
// EVENT is the name of a fixture in events/: charge.succeeded sends
// events/charge.succeeded.json (found from the working directory, or from
// the repository's root). FILE is the path of a fixture: a Lambda event as
// in events/ (API Gateway payload 2.0 or 1.0, or a function URL event with a
// base64 body), whose body is the Stripe event, or a bare Stripe event (a
// JSON object with "object": "event").
//
// The body is sent byte for byte with a Stripe-Signature made now with the
// signing secret: -secret, else the first of STRIPE_WEBHOOK_SECRET's
// comma-separated secrets when it is set, else the local test secret; the
// same default as `make run`, so the server accepts it. When BASIC_AUTH
// (user:password) is set, as `make run` then requires, the request carries
// it as Basic credentials.
//
// The exit status is 0 for a 2xx response, 1 for any other response or when
// the server cannot be reached, and 2 for a usage error.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"stripetask/internal/devtools"
	"stripetask/internal/fixture"
)

// usageError is a command-line mistake, which exits with status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// isUsage reports whether err is a usage error.
func isUsage(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}

// defaultURL is where `make run` serves the webhook with its defaults.
const defaultURL = "http://127.0.0.1:3000/webhook"

func main() {
	err := run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr, http.DefaultClient, time.Now)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case isUsage(err):
		fmt.Fprintf(os.Stderr, "send: %v\n", err)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "send: %v\n", err)
		os.Exit(1)
	}
}

// run executes the command with args (without the program name).
func run(args []string, getenv func(string) string, stdout, stderr io.Writer, client *http.Client, now func() time.Time) error {
	fl := flag.NewFlagSet("send", flag.ContinueOnError)
	fl.SetOutput(stderr)
	url := fl.String("url", defaultURL, "the local webhook's `URL`")
	secret := fl.String("secret", "", "signing secret, whsec_... (default: STRIPE_WEBHOOK_SECRET, else the local test secret)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/send [-url URL] [-secret whsec_...] EVENT|FILE\n\n"+
			"Signs a webhook fixture (events/EVENT.json, or FILE) afresh and POSTs it to the local webhook.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return usagef("want one EVENT or FILE, e.g. charge.succeeded")
	}
	if *secret == "" {
		*secret, _, _ = strings.Cut(getenv("STRIPE_WEBHOOK_SECRET"), ",")
		*secret = strings.TrimSpace(*secret)
	}
	if *secret == "" {
		*secret = fixture.LocalSecret
	}

	path, err := resolve(fl.Arg(0))
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	body, err := stripeEvent(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}

	req, err := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
	if err != nil {
		return usagef("-url: %v", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", fixture.Sign(body, *secret, now()))
	if user, pass, ok := strings.Cut(getenv("BASIC_AUTH"), ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the local webhook at %s (is `make run` running, with the same PORT?): %w", *url, err)
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("reading the response: %w", err)
	}
	var ev struct{ ID, Type string }
	_ = json.Unmarshal(body, &ev)
	fmt.Fprintf(stdout, "POST %s (%s %s, from %s): %s\n", *url, ev.Type, ev.ID, path, resp.Status)
	stdout.Write(respBody)
	if len(respBody) > 0 && respBody[len(respBody)-1] != '\n' {
		fmt.Fprintln(stdout)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}

// resolve returns the fixture file arg names: an existing file, else the
// fixture events/<arg>.json in the working directory or the repository.
func resolve(arg string) (string, error) {
	if info, err := os.Stat(arg); err == nil && !info.IsDir() {
		return arg, nil
	}
	if strings.ContainsRune(arg, os.PathSeparator) || strings.ContainsRune(arg, '/') || strings.HasSuffix(arg, ".json") {
		return "", fmt.Errorf("no fixture file %s", arg)
	}
	dirs := []string{"events"}
	if root, err := devtools.ModuleRoot(); err == nil {
		dirs = append(dirs, filepath.Join(root, "events"))
	}
	for _, dir := range dirs {
		p := filepath.Join(dir, arg+".json")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", usagef("no fixture events/%s.json; the fixtures are: %s", arg, strings.Join(fixtureNames(dirs), ", "))
}

// fixtureNames lists the EVENT names of the first directory of dirs that
// has fixtures.
func fixtureNames(dirs []string) []string {
	for _, dir := range dirs {
		matches, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(matches) == 0 {
			continue
		}
		names := make([]string, len(matches))
		for i, m := range matches {
			names[i] = strings.TrimSuffix(filepath.Base(m), ".json")
		}
		sort.Strings(names)
		return names
	}
	return nil
}

// stripeEvent returns the Stripe event a fixture carries: the body of a
// Lambda event (base64-decoded when isBase64Encoded), or the file itself
// when it is a bare Stripe event.
func stripeEvent(raw []byte) ([]byte, error) {
	var f struct {
		Version         *string `json:"version"`
		HTTPMethod      *string `json:"httpMethod"`
		Body            *string `json:"body"`
		IsBase64Encoded bool    `json:"isBase64Encoded"`
		Object          string  `json:"object"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case f.Version != nil || f.HTTPMethod != nil:
		if f.Body == nil || *f.Body == "" {
			return nil, errors.New("the Lambda event has no body")
		}
		if !f.IsBase64Encoded {
			return []byte(*f.Body), nil
		}
		b, err := base64.StdEncoding.DecodeString(*f.Body)
		if err != nil {
			return nil, fmt.Errorf("decoding the base64 body: %w", err)
		}
		return b, nil
	case f.Object == "event":
		return raw, nil
	}
	return nil, errors.New(`neither a Lambda event (API Gateway or function URL) nor a Stripe event ("object": "event")`)
}

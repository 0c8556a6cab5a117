// Command events makes and re-signs the webhook fixtures: Lambda events
// whose body is a Stripe event, for `invoke` and `sam local invoke`.
//
// Usage:
//
//	go run ./cmd/events new TYPE [-set path=value ...] [-shape http|rest|function-url|eventbridge] [-secret whsec_...] [-o FILE]
//	go run ./cmd/events [-secret whsec_...] [-time unix] -o DIR FILE|DIR...
//	go run ./cmd/events [-secret whsec_...] [-time unix] -w FILE|DIR...
//
// # New fixtures
//
// `new` writes a fixture of any event type stripe-go v76 knows (or one of
// handler.Handler's ExtraEventTypes), carrying a new event that package
// dispatchtest builds: the envelope Stripe sends, with data.object a
// realistic object of the kind the event carries, taken from a stripe-mock
// the command runs for the purpose (from ./bin, $STRIPE_MOCK or PATH: `make
// tools` installs it). The flags come after the type:
//
//	-set path=value  set a member of the event, as dispatchtest's Event.Set
//	                 does: data.object.amount=5000, data.object.customer=cus_X,
//	                 account=acct_1, data.object.refunds.data[0].amount=100.
//	                 The value is JSON when it parses as JSON (5000, true,
//	                 null, {"a":"b"}, "a JSON string"), else a string. Repeatable,
//	                 applied in order.
//	-shape SHAPE     the Lambda event: http (API Gateway HTTP API, payload
//	                 2.0; the default), rest (REST API, payload 1.0),
//	                 function-url (Lambda function URL, base64 body), or
//	                 eventbridge (a Stripe event destination's EventBridge
//	                 event, source aws.partner/stripe.com/ed_test_..., the
//	                 Stripe event in detail; not signed).
//	-secret whsec_   the signing secret (default: the local test secret)
//	-o FILE          write to FILE (default: standard output)
//
// The HTTP shapes are signed at the current time, so `invoke` and `sam local
// invoke` take them as they are for five minutes (`invoke` renews an older
// signature of the local secret itself).
//
// # Re-signing
//
// Otherwise each FILE is a Lambda event (API Gateway HTTP API payload 2.0,
// Lambda function URL, or API Gateway REST API payload 1.0) whose body is a
// Stripe event. Its Stripe-Signature header is recomputed with the signing
// secret at the given time (default: now) and the request time in
// requestContext is set to the same instant. The body is left byte for byte
// as it was. A DIR argument stands for every *.json file below it.
//
// Exactly one of -o and -w says where the result goes:
//
//	-o DIR   write the re-signed copy of FILE to DIR/FILE, FILE's path
//	         relative to the working directory, so the layout is mirrored:
//	         `-o build events/rest-api/charge.succeeded.json` writes
//	         build/events/rest-api/charge.succeeded.json. FILE is left as it
//	         is. This is what `make events` does (into build/events/).
//	-w       rewrite each FILE in place (atomically; an unchanged file is not
//	         touched). Only for maintainers who edited a committed fixture's
//	         body: it changes tracked files (`make resign-fixtures`).
//
// The default secret is the local test secret the fixture tests verify
// against; real endpoint secrets must never be committed.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"stripetask/internal/fixture"
)

// errUsage marks command-line mistakes, which exit with status 2.
var errUsage = errors.New("usage error")

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr, time.Now)
	switch {
	case err == nil:
	case errors.Is(err, errUsage), errors.Is(err, flag.ErrHelp):
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(os.Stderr, "events: %v\n", err)
		}
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "events: %v\n", err)
		os.Exit(1)
	}
}

// run executes the command with args (without the program name). It
// reports each re-signed file on stdout and per-file failures on stderr,
// and returns an error if anything failed.
func run(args []string, stdout, stderr io.Writer, now func() time.Time) error {
	if len(args) > 0 && args[0] == "new" {
		return runNew(args[1:], stdout, stderr, now)
	}
	fl := flag.NewFlagSet("events", flag.ContinueOnError)
	fl.SetOutput(stderr)
	// The default is applied after parsing so that -help never prints a
	// secret, and so that an explicit empty -secret is an error.
	secret := fl.String("secret", "", "Stripe webhook signing secret, whsec_... (default: the local test secret)")
	unix := fl.Int64("time", 0, "signature timestamp in Unix seconds (default: now)")
	outDir := fl.String("o", "", "write the re-signed copy of each FILE to `DIR`/FILE (the fixtures are left as they are)")
	inPlace := fl.Bool("w", false, "rewrite each FILE in place (changes the fixtures)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/events [-secret whsec_...] [-time unix] -o DIR FILE|DIR...\n"+
			"       go run ./cmd/events [-secret whsec_...] [-time unix] -w FILE|DIR...\n"+
			"       go run ./cmd/events new TYPE [-set path=value ...] [-shape http|rest|function-url|eventbridge] [-secret whsec_...] [-o FILE]\n\n"+
			"Re-signs Stripe webhook fixtures (Lambda event JSON): copies into DIR (-o), or in place (-w);\n"+
			"or, with new, writes a new fixture of event type TYPE (go run ./cmd/events new -h).\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	outSet := false
	secretSet := false
	fl.Visit(func(f *flag.Flag) {
		outSet = outSet || f.Name == "o"
		secretSet = secretSet || f.Name == "secret"
	})
	switch {
	case outSet && *inPlace:
		return fmt.Errorf("%w: -o and -w exclude each other", errUsage)
	case outSet && strings.TrimSpace(*outDir) == "":
		return fmt.Errorf("%w: -o is empty", errUsage)
	case !outSet && !*inPlace:
		fl.Usage()
		return fmt.Errorf("%w: say where the re-signed fixtures go: -o DIR for copies, or -w to rewrite them in place", errUsage)
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return fmt.Errorf("%w: no fixture files given", errUsage)
	}
	switch {
	case !secretSet:
		*secret = fixture.LocalSecret
	case strings.TrimSpace(*secret) == "":
		return fmt.Errorf("%w: -secret is empty", errUsage)
	}
	if *unix < 0 {
		return fmt.Errorf("%w: -time %d is negative", errUsage, *unix)
	}
	at := now()
	if *unix > 0 {
		at = time.Unix(*unix, 0)
	}

	files, err := expand(fl.Args())
	if err != nil {
		return err
	}
	failed := 0
	for _, name := range files {
		dest := name
		if outSet {
			if dest, err = mirror(*outDir, name); err != nil {
				fmt.Fprintf(stderr, "events: %v\n", err)
				failed++
				continue
			}
		}
		if err := resignFile(name, dest, *secret, at); err != nil {
			fmt.Fprintf(stderr, "events: %v\n", err)
			failed++
			continue
		}
		if outSet {
			fmt.Fprintf(stdout, "signed %s -> %s (t=%d)\n", name, dest, at.Unix())
		} else {
			fmt.Fprintf(stdout, "signed %s in place (t=%d)\n", name, at.Unix())
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d fixtures not signed", failed, len(files))
	}
	return nil
}

// mirror returns where -o dir puts the copy of name: dir/name, with name
// taken relative to the working directory. A name outside the working
// directory, or a destination that is name itself, is an error.
func mirror(dir, name string) (string, error) {
	abs, err := filepath.Abs(name)
	if err != nil {
		return "", err
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s: outside the working directory, so -o cannot mirror its path", name)
	}
	dest := filepath.Join(dir, rel)
	destAbs, err := filepath.Abs(dest)
	if err != nil {
		return "", err
	}
	if destAbs == abs {
		return "", fmt.Errorf("%s: -o %s would overwrite the fixture itself; use -w to rewrite in place", name, dir)
	}
	return dest, nil
}

// expand replaces each directory argument by the *.json files below it, in
// lexical order, and keeps file arguments as given.
func expand(args []string) ([]string, error) {
	var files []string
	for _, arg := range args {
		info, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			files = append(files, arg)
			continue
		}
		err = filepath.WalkDir(arg, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), ".json") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", arg, err)
		}
	}
	return files, nil
}

// resignFile re-signs the fixture name and writes the result to dest (name
// itself for -w) atomically, creating dest's directory. A destination whose
// content would not change is left untouched.
func resignFile(name, dest, secret string, at time.Time) error {
	info, err := os.Stat(name)
	if err != nil {
		return err
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	updated, err := fixture.Resign(src, secret, at)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if old, err := os.ReadFile(dest); err == nil && bytes.Equal(old, updated) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	if err := writeFileAtomic(dest, updated, info.Mode().Perm()); err != nil {
		return fmt.Errorf("%s: %w", dest, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to name and renames
// it over name, with permission bits perm.
func writeFileAtomic(name string, data []byte, perm fs.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := tmp.Chmod(perm); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("replace file: %w", err)
	}
	return nil
}

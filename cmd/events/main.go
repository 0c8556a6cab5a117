// Command events re-signs the webhook fixtures under events/ in place.
//
// Usage:
//
//	go run ./cmd/events [-secret whsec_...] [-time unix] FILE|DIR...
//
// Each FILE is a Lambda event (API Gateway HTTP API payload 2.0, Lambda
// function URL, or API Gateway REST API payload 1.0) whose body is a Stripe
// event. Its Stripe-Signature header is recomputed with the signing secret
// at the given time (default: now), the request time in requestContext is
// set to the same instant, and the file is rewritten. The body is left byte
// for byte as it was. A DIR argument stands for every *.json file below it.
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
	fl := flag.NewFlagSet("events", flag.ContinueOnError)
	fl.SetOutput(stderr)
	// The default is applied after parsing so that -help never prints a
	// secret, and so that an explicit empty -secret is an error.
	secret := fl.String("secret", "", "Stripe webhook signing secret, whsec_... (default: the local test secret)")
	unix := fl.Int64("time", 0, "signature timestamp in Unix seconds (default: now)")
	fl.Usage = func() {
		fmt.Fprintf(fl.Output(), "usage: go run ./cmd/events [-secret whsec_...] [-time unix] FILE|DIR...\n\n"+
			"Re-signs Stripe webhook fixtures (Lambda event JSON) in place.\n\n")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fl.NArg() == 0 {
		fl.Usage()
		return fmt.Errorf("%w: no fixture files given", errUsage)
	}
	secretSet := false
	fl.Visit(func(f *flag.Flag) { secretSet = secretSet || f.Name == "secret" })
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
		if err := resignFile(name, *secret, at); err != nil {
			fmt.Fprintf(stderr, "events: %v\n", err)
			failed++
			continue
		}
		fmt.Fprintf(stdout, "signed %s (t=%d)\n", name, at.Unix())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d fixtures not signed", failed, len(files))
	}
	return nil
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

// resignFile re-signs one fixture and replaces the file atomically. A file
// whose content would not change is left untouched.
func resignFile(name, secret string, at time.Time) error {
	old, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	updated, err := fixture.Resign(old, secret, at)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if bytes.Equal(old, updated) {
		return nil
	}
	if err := writeFileAtomic(name, updated); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file next to name and renames
// it over name, keeping name's permission bits.
func writeFileAtomic(name string, data []byte) (err error) {
	info, err := os.Stat(name)
	if err != nil {
		return fmt.Errorf("stat: %w", err)
	}
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
	if err := tmp.Chmod(info.Mode().Perm()); err != nil {
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

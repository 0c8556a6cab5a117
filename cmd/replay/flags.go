package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"stripetask/internal/stripeevents"
)

// errUsage marks command-line mistakes, which exit with status 2.
var errUsage = errors.New("usage error")

// usageText is the head of the usage message; the flags follow it.
const usageText = `usage: go run ./cmd/replay [-force] EVENT_ID...
       go run ./cmd/replay [-force] -since DURATION|TIME [-type TYPE]...

Runs events from Stripe's Events API through handler.Handler, oldest first,
with the functions' secrets (the environment, or SECRETS_ID) and, when
DEDUP_TABLE is set, their dedup table. Prints "<id> <type> <outcome>" per
event, then a summary. Flags come before the event ids.

`

// options is the parsed command line: ids, or since with types.
type options struct {
	ids   []string
	since time.Time
	types []string
	force bool
}

// typeFlags collects the values of the repeatable -type flag.
type typeFlags []string

// String returns the values, comma-separated.
func (t *typeFlags) String() string { return strings.Join(*t, ",") }

// Set adds one value.
func (t *typeFlags) Set(v string) error {
	*t = append(*t, v)
	return nil
}

// parseArgs parses the command line (without the program name); now is
// the time -since counts back from. On a mistake it writes the usage to
// stderr and returns an error wrapping errUsage (or flag.ErrHelp, for
// -help), for the caller to print.
func parseArgs(args []string, now time.Time, stderr io.Writer) (options, error) {
	var (
		opts  options
		since string
		types typeFlags
	)
	fl := flag.NewFlagSet(name, flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.StringVar(&since, "since", "", "replay the events created since `DURATION|TIME`: a Go duration back from now (2h, 90m) or an RFC 3339 time (2024-05-01T12:00:00Z), at most 720h (30 days, as long as Stripe keeps events) ago")
	fl.Var(&types, "type", "with -since, only events of this `TYPE`: exact (invoice.paid) or a prefix (invoice.*); repeatable")
	fl.BoolVar(&opts.force, "force", false, "run events even if already handled (with DEDUP_TABLE): their methods run again")
	fl.Usage = func() {
		fmt.Fprint(fl.Output(), usageText)
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return opts, err
		}
		return opts, fmt.Errorf("%w: %w", errUsage, err) // flag printed the usage
	}
	opts.types = types
	if err := opts.check(since, fl.Args(), now); err != nil {
		fl.Usage()
		return opts, fmt.Errorf("%w: %w", errUsage, err)
	}
	return opts, nil
}

// check validates the arguments after the flags and -since, and sets ids
// and since.
func (o *options) check(since string, args []string, now time.Time) error {
	ids, err := eventIDs(args)
	if err != nil {
		return err
	}
	switch {
	case len(ids) > 0 && since != "":
		return errors.New("give event ids or -since, not both")
	case len(ids) == 0 && since == "":
		return errors.New("give event ids, or -since to list events")
	case len(ids) > 0 && len(o.types) > 0:
		return errors.New("-type applies to -since only; with event ids, give just the ids")
	case len(ids) > 0:
		o.ids = ids
		return nil
	}
	if o.since, err = parseSince(since, now); err != nil {
		return err
	}
	return checkTypes(o.types)
}

// eventIDs returns the ids in args, each once, in order. An argument that
// looks like a flag is a flag given after the ids.
func eventIDs(args []string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, a := range args {
		switch {
		case strings.HasPrefix(a, "-"):
			return nil, fmt.Errorf("%s after the event ids: flags come before the ids", a)
		case strings.TrimSpace(a) == "":
			return nil, errors.New("an empty event id")
		case !seen[a]:
			seen[a] = true
			ids = append(ids, a)
		}
	}
	return ids, nil
}

// parseSince reads -since: a positive Go duration back from now, or an RFC
// 3339 time not after now, in either form at most maxSince ago: Stripe
// keeps events 30 days, and a longer window would only list nothing, a
// request per day of it.
func parseSince(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		switch {
		case d <= 0:
			return time.Time{}, fmt.Errorf("-since %s: want a positive duration", s)
		case d > maxSince:
			return time.Time{}, fmt.Errorf("-since %s: want at most %s: Stripe keeps events 30 days", s, maxSinceText)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("-since %q: want a Go duration (2h, 90m) or an RFC 3339 time (2024-05-01T12:00:00Z)", s)
	}
	switch {
	case t.After(now):
		return time.Time{}, fmt.Errorf("-since %s is in the future", s)
	case now.Sub(t) > maxSince:
		return time.Time{}, fmt.Errorf("-since %s is more than %s ago: Stripe keeps events 30 days", s, maxSinceText)
	}
	return t, nil
}

// maxSince is the longest -since: Stripe's retention of events.
const maxSince = stripeevents.Retention

// maxSinceText is maxSince as a person writes it for -since.
const maxSinceText = "720h (30 days)"

// checkTypes checks the -type filters with stripeevents' own rules:
// Client.Each checks its types before it lists anything, and over a window
// that ends before it starts it lists nothing, so this asks no one.
func checkTypes(types []string) error {
	empty := stripeevents.Query{From: time.Unix(1, 0), To: time.Unix(0, 0)}
	for _, t := range types {
		empty.Types = []string{t}
		err := stripeevents.New(nil).Each(context.Background(), empty, nil)
		if errors.Is(err, stripeevents.ErrType) {
			return fmt.Errorf("-type %q: %w", t, stripeevents.ErrType)
		}
		if err != nil {
			return fmt.Errorf("-type %q: %w", t, err)
		}
	}
	return nil
}

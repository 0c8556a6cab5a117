package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"

	"github.com/stripe/stripe-go/v76"

	"stripetask/internal/bootstrap"
	"stripetask/internal/pipeline"
	"stripetask/internal/stripeclient"
	"stripetask/internal/stripeevents"
	"stripetask/secrets"
)

// source is the pipeline source of every replayed event.
var source = &pipeline.Source{Name: name}

// Outcomes of an id that could not be fetched; they print with "-" as the
// type.
const (
	notFound    pipeline.Outcome = "not_found"
	fetchFailed pipeline.Outcome = "fetch_failed"
)

// replayer runs events through the pipeline and reports them.
type replayer struct {
	pipe    *pipeline.Pipeline
	events  *stripeevents.Client
	log     *slog.Logger
	secrets secrets.Map // redacted from error text
	stdout  io.Writer
	stderr  io.Writer
	force   bool
	runID   string // the request_id of the run's log lines
	tally   tally
}

// newReplayer loads the secrets and builds the Stripe client that reads
// the events and the pipeline that runs them.
func newReplayer(ctx context.Context, rt *bootstrap.Runtime, force bool, stdout, stderr io.Writer) (*replayer, error) {
	m, err := rt.Deps.Secrets.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the secrets: %w", err)
	}
	if m[stripeclient.KeySecret] == "" {
		return nil, fmt.Errorf("%s is not set (in the environment, or in the secret SECRETS_ID): it is needed to read events from Stripe", stripeclient.KeySecret)
	}
	return &replayer{
		pipe:    rt.Pipeline(),
		events:  stripeevents.New(rt.Deps.Stripe.Client(m)),
		log:     rt.Log,
		secrets: m,
		stdout:  stdout,
		stderr:  stderr,
		force:   force,
		runID:   newRunID(),
	}, nil
}

// run replays the events opts selects, prints the summary and returns the
// exit status.
func (r *replayer) run(ctx context.Context, opts options) int {
	var err error
	if len(opts.ids) > 0 {
		err = r.byIDs(ctx, opts.ids)
	} else {
		err = r.since(ctx, stripeevents.Query{From: opts.since, Types: opts.types})
	}
	fmt.Fprintln(r.stdout, r.tally.summary())
	if err != nil {
		fmt.Fprintf(r.stderr, "%s: %s\n", name, r.secrets.Redact(err.Error()))
		return 1
	}
	if r.tally.failed > 0 {
		return 1
	}
	return 0
}

// byIDs fetches every event of ids, then replays them oldest first. An id
// that cannot be fetched is reported and counted as failed.
func (r *replayer) byIDs(ctx context.Context, ids []string) error {
	events := make([]*stripe.Event, 0, len(ids))
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("stopped while fetching the events: %w", err)
		}
		e, err := r.events.Get(ctx, id)
		if err != nil {
			r.fetchFailed(ctx, id, err)
			continue
		}
		events = append(events, e)
	}
	// Stable: events created in the same second keep the order given.
	slices.SortStableFunc(events, func(a, b *stripe.Event) int { return cmp.Compare(a.Created, b.Created) })
	for _, e := range events {
		if err := r.replay(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// since replays the events q selects, oldest first, as they are listed.
func (r *replayer) since(ctx context.Context, q stripeevents.Query) error {
	if err := r.events.Each(ctx, q, func(e *stripe.Event) error { return r.replay(ctx, e) }); err != nil {
		return fmt.Errorf("listing the events: %w", err)
	}
	return nil
}

// replay runs one event through the pipeline, on a context of its own,
// and reports its outcome. It returns an error only when ctx has ended
// (the command was interrupted): the remaining events are not run.
func (r *replayer) replay(ctx context.Context, e *stripe.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("stopped before %s: %w", e.ID, err)
	}
	if r.force {
		fmt.Fprintf(r.stderr, "%s: WARNING: -force: running %s (%s) even if it was already handled\n", name, e.ID, e.Type)
	}
	// The process's deadline, if it has one, bounds the event; none is
	// added, so without one the method's context has none either.
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := r.pipe.Handle(ectx, pipeline.Input{Source: source, Event: e, RequestID: r.runID, Force: r.force})
	r.report(e.ID, string(e.Type), res.Outcome)
	return nil
}

// fetchFailed reports an id that could not be fetched: not_found when
// Stripe has no such event, fetch_failed otherwise. The error goes to the
// log.
func (r *replayer) fetchFailed(ctx context.Context, id string, err error) {
	outcome := fetchFailed
	if se, ok := errors.AsType[*stripe.Error](err); ok && se.HTTPStatusCode == http.StatusNotFound {
		outcome = notFound
	}
	r.log.LogAttrs(ctx, slog.LevelError, "the event could not be fetched from Stripe",
		slog.String("request_id", r.runID), slog.String("source", name), slog.String("event_id", id),
		slog.String("outcome", string(outcome)), slog.String("error", r.secrets.Redact(err.Error())))
	r.report(id, "-", outcome)
}

// report prints an event's line and counts its outcome.
func (r *replayer) report(id, typ string, outcome pipeline.Outcome) {
	fmt.Fprintf(r.stdout, "%s %s %s\n", id, typ, outcome)
	r.tally.add(outcome)
}

// tally counts the events of a run by outcome.
type tally struct {
	total, handled, duplicate, ignored, failed int
}

// add counts one event, by replay's mapping of the outcome's disposition:
// a Done outcome is handled, a duplicate, or ignored (nothing to run, test
// events in live mode included); Retry and Refused are failures, and make
// the exit code 1.
func (t *tally) add(o pipeline.Outcome) {
	t.total++
	switch {
	case o == pipeline.Handled:
		t.handled++
	case o == pipeline.Duplicate:
		t.duplicate++
	case o.Done():
		t.ignored++
	default:
		t.failed++
	}
}

// summary is the last line of the output.
func (t *tally) summary() string {
	return fmt.Sprintf("%d events: %d handled, %d duplicate, %d ignored, %d failed", t.total, t.handled, t.duplicate, t.ignored, t.failed)
}

// newRunID names one run of the command in the log lines (request_id) and
// in the dedup store's claims.
func newRunID() string {
	var b [6]byte
	rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

package bootstrap

import (
	"context"
	"log/slog"

	"stripetask/internal/pipeline"
	"stripetask/secrets"
)

// logWarmFailure writes the error line of a cold start whose warm-up
// failed with outcome and err; msg says what happens next ("retrying with
// the next delivery"). The error's text has every secret value replaced by
// its name, as in the events' own lines: a failed Init
// (pipeline.InitFailed) is the Handler's own error, which may quote
// anything it was given, a secret or Stripe's error text echoing the key.
// The values are those src holds (secrets.Cached), without a network call
// or a wait: the snapshot Init ran with. Without one (the secrets could
// not be loaded, pipeline.SecretsUnavailable) the error is the secrets
// source's own, which never contains a secret value (secrets.Source).
func logWarmFailure(ctx context.Context, log *slog.Logger, src secrets.Source, msg string, outcome pipeline.Outcome, err error) {
	m, _ := secrets.Cached(src)
	log.LogAttrs(ctx, slog.LevelError, msg, slog.String("outcome", string(outcome)), slog.String("error", m.Redact(err.Error())))
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// SecretsAPI is the part of the Secrets Manager client the command uses.
type SecretsAPI interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// ErrSecret reports a Secrets Manager secret that cannot take the signing
// secret: missing, unreadable, or not a JSON object.
var ErrSecret = errors.New("Secrets Manager secret unusable")

// secretValue is a parsed secret: a JSON object whose values are kept as
// they are, the newest signing secret it holds, if any, and the endpoint id
// it holds, if any.
type secretValue struct {
	fields     map[string]json.RawMessage
	previous   string
	endpointID string
	// signing is STRIPE_WEBHOOK_SECRET's list; connect is
	// STRIPE_WEBHOOK_CONNECT_SECRET's, the Connect endpoint's secrets,
	// which signing also holds.
	signing, connect []string
}

// secretUpdate is what the command writes into the secret.
type secretUpdate struct {
	// signingSecret, if not empty, becomes STRIPE_WEBHOOK_SECRET, ahead of
	// the newest previous one.
	signingSecret string
	// endpointID, if not empty, becomes STRIPE_WEBHOOK_ENDPOINT_ID.
	endpointID string
	// connectSecret, if not empty, is a new Connect endpoint's signing
	// secret: it is appended to STRIPE_WEBHOOK_SECRET, after the account
	// endpoint's, and recorded in STRIPE_WEBHOOK_CONNECT_SECRET.
	connectSecret string
}

// names lists the keys u writes, for messages (never their values).
func (u secretUpdate) names() string {
	var names []string
	if u.signingSecret != "" || u.connectSecret != "" {
		names = append(names, SigningSecretName)
	}
	if u.connectSecret != "" {
		names = append(names, ConnectSecretName)
	}
	if u.endpointID != "" {
		names = append(names, EndpointIDName)
	}
	return strings.Join(names, " and ")
}

// readSecret fetches and parses the secret id. Its errors name the secret
// and the problem, never a value.
func readSecret(ctx context.Context, api SecretsAPI, id string) (secretValue, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		if _, ok := errors.AsType[*smtypes.ResourceNotFoundException](err); ok {
			return secretValue{}, fmt.Errorf("%w: %q does not exist: create it first (a JSON object, see the README's Secrets section), or pass -secret-id: %w", ErrSecret, id, err)
		}
		return secretValue{}, fmt.Errorf("%w: reading %q: %w", ErrSecret, id, err)
	}
	if out.SecretString == nil {
		return secretValue{}, fmt.Errorf("%w: %q has no SecretString (a binary secret); it must be a JSON object of names to string values", ErrSecret, id)
	}
	v, err := parseSecret(*out.SecretString)
	if err != nil {
		return secretValue{}, fmt.Errorf("%w: %q: %w", ErrSecret, id, err)
	}
	return v, nil
}

// parseSecret decodes a SecretString that must be a JSON object, with
// STRIPE_WEBHOOK_SECRET and STRIPE_WEBHOOK_ENDPOINT_ID, if present,
// strings. Errors quote no content: encoding/json's own messages would
// quote part of a secret.
func parseSecret(s string) (secretValue, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &fields); err != nil {
		if se, ok := errors.AsType[*json.SyntaxError](err); ok {
			return secretValue{}, fmt.Errorf("the SecretString is not valid JSON (error at byte %d); it must be a JSON object of names to string values", se.Offset)
		}
		return secretValue{}, errors.New("the SecretString is not a JSON object; it must be a JSON object of names to string values")
	}
	if fields == nil {
		return secretValue{}, errors.New("the SecretString is null; it must be a JSON object of names to string values")
	}
	v := secretValue{fields: fields}
	if raw, ok := fields[SigningSecretName]; ok {
		var cur string
		if err := json.Unmarshal(raw, &cur); err != nil {
			return secretValue{}, fmt.Errorf("the value of %s is not a string", SigningSecretName)
		}
		v.signing = splitList(cur)
	}
	if raw, ok := fields[ConnectSecretName]; ok {
		var cur string
		if err := json.Unmarshal(raw, &cur); err != nil {
			return secretValue{}, fmt.Errorf("the value of %s is not a string", ConnectSecretName)
		}
		v.connect = splitList(cur)
	}
	// The account endpoint's list is newest first: the previous one is
	// its first secret that is not the Connect endpoint's.
	for _, s := range v.signing {
		if !slices.Contains(v.connect, s) {
			v.previous = s
			break
		}
	}
	if raw, ok := fields[EndpointIDName]; ok {
		if err := json.Unmarshal(raw, &v.endpointID); err != nil {
			return secretValue{}, fmt.Errorf("the value of %s is not a string", EndpointIDName)
		}
	}
	return v, nil
}

// with returns the secret's JSON updated by u. A new signing secret is set
// as STRIPE_WEBHOOK_SECRET followed by the newest previous signing secret,
// so that deliveries signed with the previous one still verify while Stripe
// moves to the new one; older secrets are dropped: at most two are kept. An
// endpoint id is set as STRIPE_WEBHOOK_ENDPOINT_ID. Every other key is kept
// with its value as it was.
func (v secretValue) with(u secretUpdate) (string, error) {
	fields := make(map[string]json.RawMessage, len(v.fields)+2)
	for k, raw := range v.fields {
		fields[k] = raw
	}
	set := func(name, val string) error {
		enc, err := marshal(val)
		if err != nil {
			return err
		}
		fields[name] = enc
		return nil
	}
	if u.signingSecret != "" || u.connectSecret != "" {
		// The account endpoint's secrets, then the Connect endpoint's:
		// each its newest and the one before, so that deliveries signed
		// with the previous one verify while Stripe moves to the new one.
		var account []string
		for _, s := range v.signing {
			if !slices.Contains(v.connect, s) {
				account = append(account, s)
			}
		}
		connect := v.connect
		if n := u.signingSecret; n != "" {
			account = newest(n, account)
		}
		if n := u.connectSecret; n != "" {
			connect = newest(n, connect)
			if err := set(ConnectSecretName, strings.Join(connect, ",")); err != nil {
				return "", err
			}
		}
		if err := set(SigningSecretName, strings.Join(slices.Concat(account, connect), ",")); err != nil {
			return "", err
		}
	}
	if u.endpointID != "" {
		if err := set(EndpointIDName, u.endpointID); err != nil {
			return "", err
		}
	}
	out, err := marshal(fields)
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// newest returns n followed by the newest of list, the one it replaces,
// unless that is n itself.
func newest(n string, list []string) []string {
	if len(list) > 0 && list[0] != n {
		return []string{n, list[0]}
	}
	return []string{n}
}

// splitList splits a comma-separated list, dropping spaces and empty items.
func splitList(v string) []string {
	var out []string
	for s := range strings.SplitSeq(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encoding the secret: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// mergeSecret is with on a SecretString.
func mergeSecret(secretString string, u secretUpdate) (string, error) {
	v, err := parseSecret(secretString)
	if err != nil {
		return "", err
	}
	return v.with(u)
}

// writeSecret reads the secret id again, just before writing, so as to
// keep any change made since it was checked, and puts it back updated by u.
func writeSecret(ctx context.Context, api SecretsAPI, id string, u secretUpdate) error {
	v, err := readSecret(ctx, api, id)
	if err != nil {
		return fmt.Errorf("storing %s: %w", u.names(), err)
	}
	s, err := v.with(u)
	if err != nil {
		return fmt.Errorf("storing %s in %q: %w", u.names(), id, err)
	}
	if _, err := api.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(id), SecretString: aws.String(s)}); err != nil {
		return fmt.Errorf("storing %s in %q: %w", u.names(), id, err)
	}
	return nil
}

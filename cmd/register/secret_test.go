package main

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestMergeSigningSecret: the new secret goes first, the newest previous one
// after it, nothing older; every other key is kept as it was. The
// endpoint's id goes beside it, replacing an earlier one.
func TestMergeSigningSecret(t *testing.T) {
	const n = newSigningSecret
	tests := []struct {
		name, in string
		want     map[string]any
		wantErr  string
		id       string // the endpoint id written too
		idOnly   bool   // only the endpoint id is written
	}{
		{name: "empty object", in: `{}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n}},
		{name: "no previous, other keys kept", in: `{"STRIPE_KEY":"` + otherKeyValue + `","SLACK_URL":"https://x/?a=1&b=<2>","N":42,"O":{"k":[1,true,null]}}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": n, "STRIPE_KEY": otherKeyValue, "SLACK_URL": "https://x/?a=1&b=<2>", "N": 42.0, "O": map[string]any{"k": []any{1.0, true, nil}}}},
		{name: "one previous", in: `{"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `"}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n + "," + prevSigningSecret}},
		{name: "two previous: only the newest kept", in: `{"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `,` + olderSigningSec + `"}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n + "," + prevSigningSecret}},
		{name: "spaces and empty parts", in: `{"STRIPE_WEBHOOK_SECRET":" , ` + prevSigningSecret + ` ,"}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n + "," + prevSigningSecret}},
		{name: "empty previous", in: `{"STRIPE_WEBHOOK_SECRET":""}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n}},
		{name: "previous is the new one", in: `{"STRIPE_WEBHOOK_SECRET":"` + n + `,` + prevSigningSecret + `"}`, want: map[string]any{"STRIPE_WEBHOOK_SECRET": n}},
		{name: "endpoint id replaced", in: `{"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `","STRIPE_WEBHOOK_ENDPOINT_ID":"we_old","K":"v"}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": n + "," + prevSigningSecret, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_new", "K": "v"}, id: "we_new"},
		{name: "endpoint id alone", in: `{"STRIPE_WEBHOOK_SECRET":"` + prevSigningSecret + `,` + olderSigningSec + `"}`,
			want: map[string]any{"STRIPE_WEBHOOK_SECRET": prevSigningSecret + "," + olderSigningSec, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_new"}, id: "we_new", idOnly: true},
		{name: "endpoint id not a string", in: `{"STRIPE_WEBHOOK_ENDPOINT_ID":7}`, wantErr: "STRIPE_WEBHOOK_ENDPOINT_ID is not a string"},
		{name: "not JSON", in: `STRIPE_WEBHOOK_SECRET=` + prevSigningSecret, wantErr: "not valid JSON"},
		{name: "array", in: `["` + prevSigningSecret + `"]`, wantErr: "not a JSON object"},
		{name: "string", in: `"` + prevSigningSecret + `"`, wantErr: "not a JSON object"},
		{name: "null", in: `null`, wantErr: "null"},
		{name: "signing secret not a string", in: `{"STRIPE_WEBHOOK_SECRET":["` + prevSigningSecret + `"]}`, wantErr: "STRIPE_WEBHOOK_SECRET is not a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := secretUpdate{signingSecret: n, endpointID: tt.id}
			if tt.idOnly {
				u.signingSecret = ""
			}
			got, err := mergeSecret(tt.in, u)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "whsec_") || strings.Contains(err.Error(), "PREVIOUS") {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m := decodeSecret(t, got); !reflect.DeepEqual(m, tt.want) {
				t.Errorf("got %s\nwant %v", got, tt.want)
			}
			if strings.Contains(got, `\u003c`) {
				t.Errorf("values were HTML-escaped: %s", got)
			}
		})
	}
	if _, err := mergeSecret(`{`, secretUpdate{signingSecret: n}); err == nil || errors.Is(err, ErrSecret) {
		t.Errorf("a bare parse error is not ErrSecret until it names the secret: %v", err)
	}
}

// TestMergeConnectSecret checks the Connect endpoint's signing secret: kept
// after the account endpoint's, rotated on its own, and kept when the
// account endpoint's rotates.
func TestMergeConnectSecret(t *testing.T) {
	const (
		acct, acctOld = "whsec_ACCOUNTsecretNEW0000", "whsec_ACCOUNTsecretOLD0000"
		conn, connOld = "whsec_CONNECTsecretNEW0000", "whsec_CONNECTsecretOLD0000"
	)
	tests := []struct {
		name string
		in   string
		u    secretUpdate
		want map[string]any
	}{
		{"first Connect secret", `{"STRIPE_WEBHOOK_SECRET":"` + acct + `,` + acctOld + `"}`, secretUpdate{connectSecret: conn},
			map[string]any{"STRIPE_WEBHOOK_SECRET": acct + "," + acctOld + "," + conn, "STRIPE_WEBHOOK_CONNECT_SECRET": conn}},
		{"Connect secret rotated", `{"STRIPE_WEBHOOK_SECRET":"` + acct + `,` + connOld + `","STRIPE_WEBHOOK_CONNECT_SECRET":"` + connOld + `"}`, secretUpdate{connectSecret: conn},
			map[string]any{"STRIPE_WEBHOOK_SECRET": acct + "," + conn + "," + connOld, "STRIPE_WEBHOOK_CONNECT_SECRET": conn + "," + connOld}},
		{"account secret rotated, Connect kept", `{"STRIPE_WEBHOOK_SECRET":"` + acctOld + `,` + conn + `","STRIPE_WEBHOOK_CONNECT_SECRET":"` + conn + `","STRIPE_WEBHOOK_ENDPOINT_ID":"we_old"}`, secretUpdate{signingSecret: acct, endpointID: "we_new"},
			map[string]any{"STRIPE_WEBHOOK_SECRET": acct + "," + acctOld + "," + conn, "STRIPE_WEBHOOK_CONNECT_SECRET": conn, "STRIPE_WEBHOOK_ENDPOINT_ID": "we_new"}},
		{"no account secret yet", `{}`, secretUpdate{connectSecret: conn},
			map[string]any{"STRIPE_WEBHOOK_SECRET": conn, "STRIPE_WEBHOOK_CONNECT_SECRET": conn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeSecret(tt.in, tt.u)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			json.Unmarshal([]byte(got), &m)
			if !reflect.DeepEqual(m, tt.want) {
				t.Fatalf("got %s\nwant %v", got, tt.want)
			}
		})
	}
}

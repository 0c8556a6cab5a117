package eventqueue

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"stripetask/internal/moto"
)

// TestFits checks which bodies SQS takes: up to 256 KiB, of the characters
// SQS allows.
func TestFits(t *testing.T) {
	tests := []struct {
		name string
		body string
		want bool
	}{
		{"small JSON", `{"id":"evt_1"}`, true},
		{"at the limit", strings.Repeat("x", MaxMessageBytes), true},
		{"over the limit", strings.Repeat("x", MaxMessageBytes+1), false},
		{"tab, newline, carriage return", "{\t\"a\":\r\n1}", true},
		{"accents, CJK, emoji", `{"name":"José 東京 🎉"}`, true},
		{"U+FFFD itself", "{\"a\":\"\uFFFD\"}", true},
		{"NUL", "{\"a\":\"\x00\"}", false},
		{"another control character", "{\"a\":\"\x1b\"}", false},
		{"U+FFFE", "{\"a\":\"\uFFFE\"}", false},
		{"U+FFFF", "{\"a\":\"\uFFFF\"}", false},
		{"invalid UTF-8", "{\"a\":\"\xff\"}", false},
		{"an encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", false},
		{"a truncated sequence", "{\"a\":\"\xe6\x9d\"}", false},
		{"escaped, as JSON allows", `{"a":"\u0000\uffff"}`, true},
	}
	q := New(nil, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := q.Fits([]byte(tt.body)); got != tt.want {
				t.Fatalf("Fits = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFitID checks that ids over SQS's 128 characters become distinct
// valid ids, and that others stay as they are.
func TestFitID(t *testing.T) {
	short := "evt_1NGUWbJ2eZvKYlo2CiYDZ0Ci"
	if got := fitID(short); got != short {
		t.Fatalf("fitID(%q) = %q", short, got)
	}
	exact := strings.Repeat("a", maxIDLength)
	if got := fitID(exact); got != exact {
		t.Fatalf("an id of exactly %d characters changed: %q", maxIDLength, got)
	}
	long1, long2 := strings.Repeat("a", 200)+"1", strings.Repeat("a", 200)+"2"
	f1, f2 := fitID(long1), fitID(long2)
	if f1 == f2 || len(f1) > maxIDLength || !strings.HasPrefix(f1, "sha256:") {
		t.Fatalf("long ids: %q and %q, want two distinct sha256: ids within %d characters", f1, f2, maxIDLength)
	}
}

// newQueue starts moto_server and returns a Queue from FromConfig on a
// new FIFO queue there, and the SQS client.
func newQueue(t *testing.T) (*moto.Server, *Queue, *sqs.Client) {
	t.Helper()
	srv := moto.Start(t)
	cfg := srv.Config(t)
	api := sqs.NewFromConfig(cfg)
	out, err := api.CreateQueue(t.Context(), &sqs.CreateQueueInput{QueueName: aws.String("events.fifo"), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	q, err := FromConfig(t.Context(), aws.ToString(out.QueueUrl))
	if err != nil {
		t.Fatal(err)
	}
	return srv, q, api
}

// TestSend sends messages to a FIFO queue on moto: each arrives with its
// group and deduplication id, a second send of one id is dropped, a body
// SQS would refuse is not sent, and an outage is ErrUnavailable, quickly.
func TestSend(t *testing.T) {
	srv, q, api := newQueue(t)
	ctx := t.Context()
	long := strings.Repeat("x", 150)
	sends := []struct {
		body, group, dedupID string
		wantErr              error
		wantGroup, wantDedup string // "" when nothing arrives
	}{
		{`{"n":1}`, "sub_1", "evt_1", nil, "sub_1", "evt_1"},
		{`{"n":2}`, "sub_1", "evt_1", nil, "", ""}, // same deduplication id: dropped
		{`{"n":3}`, long + "g", long + "d", nil, fitID(long + "g"), fitID(long + "d")},
		{strings.Repeat("x", MaxMessageBytes+1), "sub_2", "evt_big", ErrTooLarge, "", ""},
		{"{\"a\":\"\uffff\"}", "sub_2", "evt_bad", ErrInvalidBody, "", ""},
		{`{"n":4}`, "", "evt_nogroup", errors.New("any"), "", ""},
	}
	var want []string
	for _, s := range sends {
		id, err := q.Send(ctx, []byte(s.body), s.group, s.dedupID)
		switch {
		case s.wantErr == nil && (err != nil || id == ""):
			t.Fatalf("send %.20q: id %q, %v", s.body, id, err)
		case s.wantErr != nil && err == nil:
			t.Fatalf("send %.20q: sent, want an error", s.body)
		case s.wantErr == ErrTooLarge || s.wantErr == ErrInvalidBody:
			if !errors.Is(err, s.wantErr) {
				t.Fatalf("send %.20q: %v, want %v", s.body, err, s.wantErr)
			}
		}
		if s.wantGroup != "" {
			want = append(want, s.body+" "+s.wantGroup+" "+s.wantDedup)
		}
	}
	out, err := api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(q.URL()), MaxNumberOfMessages: 10,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range out.Messages {
		got = append(got, aws.ToString(m.Body)+" "+m.Attributes["MessageGroupId"]+" "+m.Attributes["MessageDeduplicationId"])
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("the queue holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	srv.Down()
	began := time.Now()
	if _, err := q.Send(ctx, []byte(`{"n":5}`), "sub_3", "evt_5"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("with SQS down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("a refused connection took %s to fail", took.Round(time.Millisecond))
	}
}

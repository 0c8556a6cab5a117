package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"stripetask/internal/awsconfig"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// StateID is the id of the state's item in the dedup table. Event ids
// (evt_...) and the dedup store's own items (mark#...) never take it.
const StateID = "reconcile#watermark"

// Attribute names of the state's item. It has no "expires" attribute, so
// the table's Time to Live never deletes it.
const (
	attrID            = "id"             // S, the partition key: StateID
	attrKind          = "kind"           // S, kindState, for whoever browses the table
	attrWatermark     = "watermark"      // N, Unix seconds: State.Watermark, for operators
	attrResumeCreated = "resume_created" // N, Unix seconds
	attrResumeIDs     = "resume_ids"     // L of S
	attrPending       = "pending"        // L of M{id S, type S, created N}
	attrVersion       = "version"        // N
	attrUpdated       = "updated"        // N, Unix milliseconds
	attrPType         = "type"           // S, in a pending entry
	attrPCreated      = "created"        // N, in a pending entry
)

// kindState is the kind attribute of the state's item.
const kindState = "reconcile_state"

// DynamoDBAPI is the part of the DynamoDB client the state store uses;
// *dynamodb.Client implements it.
type DynamoDBAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

// DynamoDBState is a StateStore keeping the state in one item, StateID, of
// the dedup table:
//
//	id              S  "reconcile#watermark"
//	kind            S  "reconcile_state"
//	watermark       N  State.Watermark, Unix seconds (written for operators; not read)
//	resume_created  N  State.Resume.Created, Unix seconds
//	resume_ids      L  State.Resume.IDs, strings
//	pending         L  State.Pending: maps {id S, type S, created N}
//	version         N  State.Version
//	updated         N  when it was saved, Unix milliseconds
//
// Load is one consistent GetItem; Save one PutItem conditioned on the
// version.
type DynamoDBState struct {
	api   DynamoDBAPI
	table string
	now   func() time.Time
}

var _ StateStore = (*DynamoDBState)(nil)

// NewDynamoDBState returns a state store in table through api.
func NewDynamoDBState(api DynamoDBAPI, table string) *DynamoDBState {
	return &DynamoDBState{api: api, table: table, now: time.Now}
}

// DynamoDBStateFromConfig returns a state store in table using the AWS
// SDK's standard configuration as awsconfig.Load tunes it (the dedup
// store's limits).
func DynamoDBStateFromConfig(ctx context.Context, table string) (*DynamoDBState, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	return NewDynamoDBState(dynamodb.NewFromConfig(cfg), table), nil
}

// Load implements StateStore.
func (s *DynamoDBState) Load(ctx context.Context) (State, error) {
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{attrID: str(StateID)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return State{}, fmt.Errorf("reconcile: reading the state (%s) from DynamoDB table %q: %w", StateID, s.table, err)
	}
	if out.Item == nil {
		return State{}, nil
	}
	st, err := decodeState(out.Item)
	if err != nil {
		return State{}, fmt.Errorf("reconcile: the state item %s in DynamoDB table %q: %w", StateID, s.table, err)
	}
	return st, nil
}

// Save implements StateStore.
func (s *DynamoDBState) Save(ctx context.Context, st *State) error {
	now := s.now()
	next := *st
	next.Version++
	next.Updated = now
	next.sortPending()
	in := &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: encodeState(&next)}
	if st.Version == 0 {
		// The first save: only if no pass saved one meanwhile.
		in.ConditionExpression = aws.String("attribute_not_exists(#id)")
		in.ExpressionAttributeNames = map[string]string{"#id": attrID}
	} else {
		in.ConditionExpression = aws.String("#version = :version")
		in.ExpressionAttributeNames = map[string]string{"#version": attrVersion}
		in.ExpressionAttributeValues = map[string]types.AttributeValue{":version": num(st.Version)}
	}
	if _, err := s.api.PutItem(ctx, in); err != nil {
		if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
			return fmt.Errorf("%w (version %d)", ErrConflict, st.Version)
		}
		return fmt.Errorf("reconcile: saving the state (%s) to DynamoDB table %q: %w", StateID, s.table, err)
	}
	*st = next
	return nil
}

func encodeState(st *State) map[string]types.AttributeValue {
	ids := make([]types.AttributeValue, len(st.Resume.IDs))
	for i, id := range st.Resume.IDs {
		ids[i] = str(id)
	}
	pending := make([]types.AttributeValue, len(st.Pending))
	for i, p := range st.Pending {
		pending[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			attrID: str(p.ID), attrPType: str(p.Type), attrPCreated: num(p.Created),
		}}
	}
	return map[string]types.AttributeValue{
		attrID:            str(StateID),
		attrKind:          str(kindState),
		attrWatermark:     num(st.Watermark().Unix()),
		attrResumeCreated: num(st.Resume.Created),
		attrResumeIDs:     &types.AttributeValueMemberL{Value: ids},
		attrPending:       &types.AttributeValueMemberL{Value: pending},
		attrVersion:       num(st.Version),
		attrUpdated:       num(st.Updated.UnixMilli()),
	}
}

func decodeState(item map[string]types.AttributeValue) (State, error) {
	var st State
	var ok bool
	if st.Version, ok = number(item[attrVersion]); !ok {
		return st, errors.New("no version")
	}
	if st.Resume.Created, ok = number(item[attrResumeCreated]); !ok {
		return st, errors.New("no resume_created")
	}
	if ms, ok := number(item[attrUpdated]); ok {
		st.Updated = time.UnixMilli(ms)
	}
	if l, ok := item[attrResumeIDs].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			s, ok := v.(*types.AttributeValueMemberS)
			if !ok {
				return st, errors.New("resume_ids holds a value that is not a string")
			}
			st.Resume.IDs = append(st.Resume.IDs, s.Value)
		}
	}
	if l, ok := item[attrPending].(*types.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			m, ok := v.(*types.AttributeValueMemberM)
			if !ok {
				return st, errors.New("pending holds a value that is not a map")
			}
			p := Pending{ID: stringAttr(m.Value[attrID]), Type: stringAttr(m.Value[attrPType])}
			if p.Created, ok = number(m.Value[attrPCreated]); !ok || p.ID == "" {
				return st, errors.New("a pending entry without id or created")
			}
			st.Pending = append(st.Pending, p)
		}
	}
	return st, nil
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

func number(v types.AttributeValue) (int64, bool) {
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	return i, err == nil
}

func stringAttr(v types.AttributeValue) string {
	if s, ok := v.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

package dedup

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

// Attribute names of a DynamoDB item.
const (
	attrID      = "id"          // S, the partition key
	attrStatus  = "status"      // S, statusInProgress or statusCompleted
	attrLease   = "lease_until" // N, Unix milliseconds
	attrExpires = "expires"     // N, Unix seconds: the table's TTL attribute
	attrKind    = "kind"        // S
	attrOwner   = "owner"       // S
	attrUpdated = "updated"     // N, Unix milliseconds
	attrMark    = "mark"        // N, a Marks value
)

// markPrefix starts the id of a Marks item, so that a mark never shares an
// item with a claim.
const markPrefix = "mark#"

// Values of the status attribute.
const (
	statusInProgress = "IN_PROGRESS"
	statusCompleted  = "COMPLETED"
)

// Expressions of the DynamoDB operations. Every attribute name goes through a
// placeholder: several of them (status, owner) are DynamoDB reserved words.
const (
	// claimCondition accepts a claim when there is no item, when the item
	// is past its expiry but DynamoDB's TTL has not yet deleted it (which
	// can take days), or when it is an in-progress claim whose lease has
	// passed.
	claimCondition = "attribute_not_exists(#id) OR #expires < :nowsec OR (#status = :inprogress AND #lease < :nowms)"
	// forceCondition also accepts a completed item (Claim.Force).
	forceCondition = claimCondition + " OR #status = :completed"
	ownedCondition = "#owner = :owner AND #status = :inprogress"
	completeUpdate = "SET #status = :completed, #expires = :expires, #updated = :nowms"
	extendUpdate   = "SET #lease = :lease, #expires = :expires, #updated = :nowms"
)

// timeLayout formats times in error messages.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// DynamoDBAPI is the part of the DynamoDB client the store uses;
// *dynamodb.Client implements it.
type DynamoDBAPI interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

// DynamoDB is a Store keeping one item per id in a DynamoDB table. Each
// operation is a single conditional write, so concurrent claims of one id,
// from any number of processes, are granted to exactly one of them.
//
// The table has the partition key "id" (type S) and no sort key, and should
// have Time to Live enabled on the attribute "expires". An item holds:
//
//	id           S  the id
//	status       S  IN_PROGRESS or COMPLETED
//	owner        S  the owner of the claim
//	kind         S  the kind of the claim
//	lease_until  N  the lease, in Unix milliseconds
//	updated      N  the time of the last write, in Unix milliseconds
//	expires      N  in Unix seconds, when the item is forgotten: the lease plus
//	                the retention while in progress, the completion plus the
//	                retention once completed
//
// The store treats an item past its expiry as absent, whether or not
// DynamoDB has deleted it yet. Leases are compared with the clock of the
// process that claims, so processes sharing a table need synchronised
// clocks, as AWS Lambda's are.
type DynamoDB struct {
	api   DynamoDBAPI
	table string
	opts  Options
}

var (
	_ Store = (*DynamoDB)(nil)
	_ Marks = (*DynamoDB)(nil)
)

// NewDynamoDB returns a store using table through api. It panics if
// opts.Retention is positive but shorter than MinRetention.
func NewDynamoDB(api DynamoDBAPI, table string, opts Options) *DynamoDB {
	return &DynamoDB{api: api, table: table, opts: opts.withDefaults()}
}

// DynamoDBFromConfig returns a store for table using the AWS SDK's standard
// configuration (region, credentials chain, AWS_ENDPOINT_URL and
// AWS_ENDPOINT_URL_DYNAMODB) as awsconfig.Load tunes it: an unreachable
// DynamoDB fails at once when connections are refused and in about 6 s at
// worst. The context's deadline cuts that short.
func DynamoDBFromConfig(ctx context.Context, table string, opts Options) (*DynamoDB, error) {
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("dedup: %w", err)
	}
	return NewDynamoDB(dynamodb.NewFromConfig(cfg), table, opts), nil
}

// Claim implements Store with one conditional PutItem.
func (s *DynamoDB) Claim(ctx context.Context, id string, c Claim) error {
	if err := checkLeased("claim", id, c.Owner, c.Lease); err != nil {
		return err
	}
	now := s.opts.Now()
	cond, values := claimCondition, map[string]types.AttributeValue{
		":nowsec":     num(now.Unix()),
		":nowms":      num(now.UnixMilli()),
		":inprogress": str(statusInProgress),
	}
	if c.Force {
		cond = forceCondition
		values[":completed"] = str(statusCompleted)
	}
	_, err := s.api.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table),
		Item: map[string]types.AttributeValue{
			attrID:      str(id),
			attrStatus:  str(statusInProgress),
			attrOwner:   str(c.Owner),
			attrKind:    str(c.Kind),
			attrLease:   num(c.Lease.UnixMilli()),
			attrUpdated: num(now.UnixMilli()),
			attrExpires: num(c.Lease.Add(s.opts.Retention).Unix()),
		},
		ConditionExpression: aws.String(cond),
		ExpressionAttributeNames: map[string]string{
			"#id":      attrID,
			"#expires": attrExpires,
			"#status":  attrStatus,
			"#lease":   attrLease,
		},
		ExpressionAttributeValues: values,
		// Return the item that made the condition fail, to tell a
		// completed id from one in progress without a second read.
		// DynamoDB always returns it; so does moto (5.x).
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err == nil {
		return nil
	}
	ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err)
	if !ok {
		return s.unavailable("claim", id, err)
	}
	old := ccf.Item
	switch attrString(old, attrStatus) {
	case statusCompleted:
		return fmt.Errorf("dedup: claim %q: %w (%s)", id, ErrCompleted, describe(old))
	case statusInProgress:
		if attrString(old, attrOwner) == c.Owner {
			// Our own claim: the SDK retried a PutItem whose first
			// response was lost (a read timeout), and the retry found
			// the item the first attempt wrote. Owners are unique per
			// run (a request id), so no other run holds it.
			return nil
		}
	}
	// An in-progress item, or (against DynamoDB's contract) no item
	// returned: either way the id is not free, and a later retry will
	// find out more.
	return fmt.Errorf("dedup: claim %q: %w (%s)", id, ErrInProgress, describe(old))
}

// Complete implements Store with one conditional UpdateItem.
func (s *DynamoDB) Complete(ctx context.Context, id, owner string) error {
	if err := checkOwned("complete", id, owner); err != nil {
		return err
	}
	now := s.opts.Now()
	return s.updateOwned(ctx, "complete", id, owner, completeUpdate, now,
		map[string]string{"#expires": attrExpires},
		map[string]types.AttributeValue{
			":completed": str(statusCompleted),
			":expires":   num(now.Add(s.opts.Retention).Unix()),
		})
}

// Extend implements Store with one conditional UpdateItem.
func (s *DynamoDB) Extend(ctx context.Context, id, owner string, lease time.Time) error {
	if err := checkLeased("extend", id, owner, lease); err != nil {
		return err
	}
	return s.updateOwned(ctx, "extend", id, owner, extendUpdate, s.opts.Now(),
		map[string]string{"#lease": attrLease, "#expires": attrExpires},
		map[string]types.AttributeValue{
			":lease":   num(lease.UnixMilli()),
			":expires": num(lease.Add(s.opts.Retention).Unix()),
		})
}

// updateOwned applies update to id's item on ownedCondition, with the
// update's own attribute names and values, to which it adds those of the
// condition and #updated, :nowms (now in Unix milliseconds).
func (s *DynamoDB) updateOwned(ctx context.Context, op, id, owner, update string, now time.Time,
	names map[string]string, values map[string]types.AttributeValue) error {
	names["#status"], names["#owner"], names["#updated"] = attrStatus, attrOwner, attrUpdated
	values[":owner"], values[":inprogress"], values[":nowms"] = str(owner), str(statusInProgress), num(now.UnixMilli())
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 map[string]types.AttributeValue{attrID: str(id)},
		UpdateExpression:                    aws.String(update),
		ConditionExpression:                 aws.String(ownedCondition),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           values,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	return s.ownedResult(op, id, owner, err)
}

// Raise implements Marks with one conditional UpdateItem on the item
// "mark#<key>", which expires a retention after its last raise.
func (s *DynamoDB) Raise(ctx context.Context, key string, v int64) error {
	if key == "" {
		return errors.New("dedup: raise: empty key")
	}
	now := s.opts.Now()
	_, err := s.api.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.table),
		Key:                 map[string]types.AttributeValue{attrID: str(markPrefix + key)},
		UpdateExpression:    aws.String("SET #mark = :v, #expires = :expires, #updated = :nowms"),
		ConditionExpression: aws.String("attribute_not_exists(#mark) OR #mark < :v"),
		ExpressionAttributeNames: map[string]string{
			"#mark":    attrMark,
			"#expires": attrExpires,
			"#updated": attrUpdated,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":v":       num(v),
			":expires": num(now.Add(s.opts.Retention).Unix()),
			":nowms":   num(now.UnixMilli()),
		},
	})
	if _, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return nil // the mark is already as high
	}
	if err != nil {
		return s.unavailable("raise", key, err)
	}
	return nil
}

// Mark implements Marks with one consistent GetItem.
func (s *DynamoDB) Mark(ctx context.Context, key string) (int64, bool, error) {
	if key == "" {
		return 0, false, errors.New("dedup: mark: empty key")
	}
	out, err := s.api.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{attrID: str(markPrefix + key)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return 0, false, s.unavailable("mark", key, err)
	}
	if exp, ok := attrNumber(out.Item, attrExpires); ok && exp < s.opts.Now().Unix() {
		return 0, false, nil // expired, not yet deleted by TTL
	}
	v, ok := attrNumber(out.Item, attrMark)
	return v, ok, nil
}

// Release implements Store with one conditional DeleteItem.
func (s *DynamoDB) Release(ctx context.Context, id, owner string) error {
	if err := checkOwned("release", id, owner); err != nil {
		return err
	}
	_, err := s.api.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:           aws.String(s.table),
		Key:                 map[string]types.AttributeValue{attrID: str(id)},
		ConditionExpression: aws.String(ownedCondition),
		ExpressionAttributeNames: map[string]string{
			"#status": attrStatus,
			"#owner":  attrOwner,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner":      str(owner),
			":inprogress": str(statusInProgress),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	return s.ownedResult("release", id, owner, err)
}

// ownedResult maps the error of a write conditioned on owning the claim.
func (s *DynamoDB) ownedResult(op, id, owner string, err error) error {
	if err == nil {
		return nil
	}
	if ccf, ok := errors.AsType[*types.ConditionalCheckFailedException](err); ok {
		return fmt.Errorf("dedup: %s %q by %q: %w (%s)", op, id, owner, ErrNotOwner, describe(ccf.Item))
	}
	return s.unavailable(op, id, err)
}

// unavailable wraps an error that is not a condition failure: the request
// could not be sent or answered, was refused (throttling, access, a missing
// table), or was malformed. All leave the outcome unknown.
func (s *DynamoDB) unavailable(op, id string, err error) error {
	return fmt.Errorf("%w: DynamoDB table %q: %s %q: %w", ErrUnavailable, s.table, op, id, err)
}

// describe summarises an item for an error message.
func describe(item map[string]types.AttributeValue) string {
	if item == nil {
		return "no claim"
	}
	owner := attrString(item, attrOwner)
	switch status := attrString(item, attrStatus); status {
	case statusCompleted:
		return fmt.Sprintf("completed by %q at %s", owner, formatMilli(item, attrUpdated))
	case statusInProgress:
		return fmt.Sprintf("claimed by %q until %s", owner, formatMilli(item, attrLease))
	default:
		return fmt.Sprintf("status %q, owner %q", status, owner)
	}
}

func formatMilli(item map[string]types.AttributeValue, name string) string {
	n, ok := attrNumber(item, name)
	if !ok {
		return "?"
	}
	return time.UnixMilli(n).UTC().Format(timeLayout)
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// attrString returns the named string attribute, or "".
func attrString(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// attrNumber returns the named integer attribute.
func attrNumber(item map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}

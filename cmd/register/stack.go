package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/smithy-go"
)

// DescribeStacksAPI is the part of the CloudFormation client the command
// uses.
type DescribeStacksAPI interface {
	DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error)
}

// ErrNoStack reports a stack that does not exist.
var ErrNoStack = errors.New("stack not found")

// stackOutputs returns the outputs of the CloudFormation stack name, by key.
func stackOutputs(ctx context.Context, api DescribeStacksAPI, name string) (map[string]string, error) {
	out, err := api.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: aws.String(name)})
	if err != nil {
		if ae, ok := errors.AsType[smithy.APIError](err); ok && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
			return nil, fmt.Errorf("%w: CloudFormation stack %q does not exist in this region (AWS_REGION): deploy it with sam deploy, pass -stack, or pass -url: %w", ErrNoStack, name, err)
		}
		return nil, fmt.Errorf("reading CloudFormation stack %q: %w", name, err)
	}
	if len(out.Stacks) == 0 {
		return nil, fmt.Errorf("%w: CloudFormation stack %q: DescribeStacks returned no stack", ErrNoStack, name)
	}
	m := make(map[string]string)
	for _, o := range out.Stacks[0].Outputs {
		m[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	return m, nil
}

module stripetask

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/stripe/stripe-go/v76 v76.25.0
)

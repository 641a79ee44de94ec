"""The platform's AWS resources (queues, topics, alarms, buckets, functions) as boto3 sees them."""

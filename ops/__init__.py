"""Tools people run against an AWS account (make preflight). Never shipped to Lambda."""

"""Checks that hold the stack to what AWS enforces and moto forgives: the template CloudFormation
receives (`checks.transform`, run by `make lint`) and each function's role against the calls it
makes (`checks.iam`, run by `make iam` and `make test`). Never shipped to Lambda."""

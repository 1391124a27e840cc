"""Deployment tooling: the CloudFormation merged by ``chalice package``, IAM policies and the cost model."""

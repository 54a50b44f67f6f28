"""Packaging and IAM checks of the per-province AWS stacks."""

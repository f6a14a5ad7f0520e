"""Regression harness: a user's own model on TF 1.15 against TF 2 + contrib_bn."""

from contrib_bn.tools.regress.cli import register  # noqa: F401

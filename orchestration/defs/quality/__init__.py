"""Great Expectations suites (expectations.checks) as Dagster asset checks."""

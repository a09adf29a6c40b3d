"""Pieces both platform clients share: typed errors, retries, field coercion, quarantine, redaction."""

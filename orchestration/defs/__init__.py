"""Definitions by domain; ``resources.py`` defines every resource once (and the in-process executor)."""

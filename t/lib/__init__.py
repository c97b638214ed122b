"""Test helpers: gateway.py (nginx under test), azsign.py (Azure signing)."""

"""Fault injection: the checker every fault is scored by, and the report (docs/reliability.md)."""

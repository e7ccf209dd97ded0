"""documents: built in a later issue (see docs/ARCHITECTURE.md)."""

"""The history service: the append-only audit trail of training sessions and model lifecycle events."""

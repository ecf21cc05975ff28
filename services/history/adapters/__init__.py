"""The history service's side of the outside world: its database tables and other services."""

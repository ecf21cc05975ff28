"""Pure logic of the history service: no gRPC, no SQLAlchemy."""

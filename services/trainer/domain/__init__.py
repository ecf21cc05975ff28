"""Pure logic of the trainer service: no gRPC, no SQLAlchemy."""

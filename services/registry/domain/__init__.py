"""Pure logic of the registry service: no gRPC, no SQLAlchemy."""

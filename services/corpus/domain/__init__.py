"""Pure logic of the corpus service: no gRPC, no SQLAlchemy."""

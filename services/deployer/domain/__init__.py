"""Pure logic of the deployer service: no gRPC, no SQLAlchemy."""

"""The shared service runtime: settings, logging, errors, auth, gRPC server and clients, database."""

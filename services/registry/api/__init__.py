"""gRPC servicers of the registry service: proto ⇄ domain, nothing else."""

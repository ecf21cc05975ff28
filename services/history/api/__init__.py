"""gRPC servicers of the history service: proto ⇄ domain, nothing else."""

"""gRPC servicers of the trainer service: proto ⇄ domain, nothing else."""

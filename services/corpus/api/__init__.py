"""gRPC servicers of the corpus service: proto ⇄ domain, nothing else."""

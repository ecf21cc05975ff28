"""gRPC servicers of the deployer service: proto ⇄ domain, nothing else."""

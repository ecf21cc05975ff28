"""The deployer service: checksum-verified, health-gated deployments and the inference endpoint."""

"""Models, tokenizers and artifact formats shared by the trainer (which writes them) and the deployer
(which serves them)."""

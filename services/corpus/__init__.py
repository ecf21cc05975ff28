"""The corpus service: texts, Q-A clusters, change-detected imports, embeddings and immutable dataset snapshots."""

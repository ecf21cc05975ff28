"""The registry service: the catalogue of models and versions: checksums, metrics, lineage, aliases."""

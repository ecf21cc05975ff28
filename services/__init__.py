"""The five Lathe services; each runs as `python -m services.<name>`."""

"""The trainer service: training jobs pinned to devices, their durable event log, checkpoints and recipes."""

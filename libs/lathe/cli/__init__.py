"""The ``lathe`` command line."""

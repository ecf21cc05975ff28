"""Training recipes behind one small plugin interface (see :mod:`services.trainer.recipes.base`)."""

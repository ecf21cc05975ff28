"""The recipes this trainer runs, by ``Recipe`` enum value."""

from __future__ import annotations

from lathe.trainer.v1 import training_config_pb2 as cfg
from services.trainer.recipes.base import Recipe
from services.trainer.recipes.causal_lm import CausalLmRecipe
from services.trainer.recipes.embedding_finetune import EmbeddingFinetuneRecipe
from services.trainer.recipes.ngram_lm import NgramLmRecipe
from services.trainer.recipes.projection_heads import ProjectionHeadsRecipe

RECIPES: dict[int, type[Recipe]] = {
    cfg.RECIPE_CAUSAL_LM: CausalLmRecipe,
    cfg.RECIPE_NGRAM_LM: NgramLmRecipe,
    cfg.RECIPE_EMBEDDING_FINETUNE: EmbeddingFinetuneRecipe,
    cfg.RECIPE_PROJECTION_HEADS: ProjectionHeadsRecipe,
}

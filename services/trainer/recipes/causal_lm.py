"""The ``causal-lm`` recipe: lathe.ml's GPT on corpus text, AdamW with warm-up and cosine decay.

With ``world_size`` N > 1 the model is wrapped in DistributedDataParallel. Each optimizer step draws the
whole global batch's window starts (``batch_size`` of them, shaped accumulation by rank by micro-batch) from
the job's seeded generator, identically on every rank, and rank r trains on row r of each accumulation
step: the sampling equivalent of ``DistributedSampler`` for randomly drawn windows. The generator's state
is the same on every rank, so it is checkpointed once (by rank 0) and a resume restores the same order.
One process (N = 1) draws the same starts in the same order, so N processes and one process see the same
examples per step and, with DDP's gradient averaging, take the same optimizer steps.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from lathe.ml.causal_lm import ARCHITECTURE, GPT, GPTConfig, load_causal_lm, save_causal_lm
from lathe.ml.ngram import NgramConfig, NgramModel
from lathe.ml.tokenizers import Tokenizer, tokenizer_from_json
from lathe.trainer.v1 import training_config_pb2 as cfg
from services.trainer import distributed
from services.trainer.recipes.base import EvalResult, Recipe, StepResult, TokenFile, build_tokenizer, token_file

# The n-gram order of the in-run baseline, and how many tokens it is fitted and scored on at most (so the
# baseline costs seconds and bounded memory even on a corpus larger than memory).
BASELINE_ORDER = 2
BASELINE_MAX_TOKENS = 8_000_000
FINAL_EVAL_MAX_TOKENS = 4_000_000


def learning_rate(options: Any, step: int, total: int) -> float:
    """The learning rate of ``step`` (from 1): linear warm-up, then constant, linear or cosine decay."""
    peak, floor, warmup = options.learning_rate, options.min_learning_rate, options.warmup_steps
    if warmup and step <= warmup:
        return peak * step / warmup
    if options.learning_rate_schedule == cfg.LEARNING_RATE_SCHEDULE_CONSTANT or total <= warmup:
        return peak
    ratio = min(1.0, (step - warmup) / max(1, total - warmup))
    if options.learning_rate_schedule == cfg.LEARNING_RATE_SCHEDULE_LINEAR:
        return peak + (floor - peak) * ratio
    return floor + 0.5 * (peak - floor) * (1 + math.cos(math.pi * ratio))


class CausalLmRecipe(Recipe):
    """A decoder-only transformer trained from scratch or continued from a parent version."""

    name = "causal-lm"

    def prepare(self) -> None:
        config = self.ctx.job.causal_lm
        parent_tokenizer = self.ctx.parent_folder / "tokenizer.json" if self.ctx.parent_folder else None
        if parent_tokenizer is not None and parent_tokenizer.exists():
            self.tokenizer: Tokenizer = tokenizer_from_json(parent_tokenizer.read_text())
        else:
            self.tokenizer = build_tokenizer(config.tokenizer, self.ctx.data_dir / "train.txt")
        self.train: TokenFile = token_file(self.tokenizer, self.ctx.data_dir / "train.txt", self.ctx.data_dir)
        self.val: TokenFile = token_file(self.tokenizer, self.ctx.data_dir / "validation.txt", self.ctx.data_dir)
        block = config.block_size
        if self.train.length <= block + 1 or self.val.length <= block + 1:
            raise ValueError(f"block_size {block} does not fit the data ({self.train.length} training and "
                             f"{self.val.length} validation tokens)")

    def build(self) -> None:
        job, config = self.ctx.job, self.ctx.job.causal_lm
        torch.manual_seed(self.ctx.seed)
        self.gpt_config = GPTConfig(vocab_size=self.tokenizer.vocab_size, block_size=config.block_size,
                                    n_layer=config.layers, n_head=config.heads, n_embd=config.embedding_size,
                                    dropout=config.dropout, bias=config.bias)
        if self.ctx.parent_folder is not None:
            model, _ = load_causal_lm(self.ctx.parent_folder)
            if model.config != self.gpt_config:
                raise ValueError(f"the parent version's architecture {model.config} does not match the job's "
                                 f"{self.gpt_config}")
            model.train()
        else:
            model = GPT(self.gpt_config)
        self.device = torch.device(self.ctx.device)
        self.model = model.to(self.device)
        o = job.options
        decay = [p for p in self.model.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.model.parameters() if p.dim() < 2]
        self.optimizer = torch.optim.AdamW(
            [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=o.learning_rate, betas=(0.9, 0.95), fused=self.device.type == "cuda")
        # The schedule is a pure function of the step, so the scheduler's state is the step itself.
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda s: learning_rate(o, s + 1, self.ctx.total_steps) / o.learning_rate)
        self.sampler = torch.Generator().manual_seed(self.ctx.seed)
        self.micro_batch = o.batch_size // (o.gradient_accumulation_steps * self.ctx.world_size)
        self.ddp: torch.nn.Module | None = None
        if self.ctx.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            # Broadcasts rank 0's initial weights; afterwards every rank applies the same averaged gradients.
            self.ddp = DistributedDataParallel(
                self.model, device_ids=[self.device.index or 0] if self.device.type == "cuda" else None)
        use_bf16 = self.device.type == "cuda" and o.precision != cfg.PRECISION_FLOAT32 and \
            torch.cuda.is_bf16_supported()
        self.autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else contextlib.nullcontext

    def _starts(self, tokens: TokenFile, shape: tuple[int, ...], generator: torch.Generator) -> np.ndarray:
        """Window starts for the whole global batch (the same on every rank)."""
        return torch.randint(tokens.length - self.gpt_config.block_size - 1, shape, generator=generator).numpy()

    def _windows(self, tokens: TokenFile, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        block = self.gpt_config.block_size
        windows = torch.from_numpy(tokens.windows(starts, block + 1))
        if self.device.type == "cuda":
            windows = windows.pin_memory().to(self.device, non_blocking=True)
        return windows[:, :-1].contiguous(), windows[:, 1:].contiguous()

    def train_tokens(self) -> int:
        return self.train.length

    def train_step(self, step: int) -> StepResult:
        o = self.ctx.job.options
        self.model.train()
        total = torch.zeros((), device=self.device)
        accumulation = o.gradient_accumulation_steps
        starts = self._starts(self.train, (accumulation, self.ctx.world_size, self.micro_batch), self.sampler)
        forward = self.ddp or self.model
        for a in range(accumulation):
            x, y = self._windows(self.train, starts[a, self.ctx.rank])
            # Gradients are averaged over ranks once per optimizer step, on the last micro-batch.
            sync = self.ddp.no_sync() if self.ddp is not None and a < accumulation - 1 else contextlib.nullcontext()
            with sync:
                with self.autocast():
                    _, loss = forward(x, y)
                (loss / accumulation).backward()
            total += loss.detach()
        grad_norm = None
        if o.max_grad_norm > 0:
            grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), o.max_grad_norm)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        # .item() is a CPU-GPU sync point; it happens once per step, after the optimizer step is queued. The
        # loss is this rank's; the loop averages it over ranks.
        loss_value = total.item() / o.gradient_accumulation_steps
        return StepResult(loss=loss_value, learning_rate=lr, tokens=o.batch_size * self.gpt_config.block_size,
                          examples=o.batch_size, grad_norm=float(grad_norm) if grad_norm is not None else None)

    @torch.no_grad()
    def evaluate(self, *, final: bool) -> EvalResult:
        self.model.eval()
        block = self.gpt_config.block_size
        rank, world = self.ctx.rank, self.ctx.world_size
        loss_sum, count = 0.0, 0
        if final:
            # Every non-overlapping window of the split (bounded, so evaluation stays seconds long), the chunks
            # dealt round-robin to the ranks.
            usable = min(self.val.length - 1, FINAL_EVAL_MAX_TOKENS)
            starts = np.arange(0, usable - block, block)
            for chunk, i in enumerate(range(0, len(starts), self.micro_batch)):
                if chunk % world != rank:
                    continue
                windows = torch.from_numpy(self.val.windows(starts[i:i + self.micro_batch], block + 1)).to(self.device)
                with self.autocast():
                    _, loss = self.model(windows[:, :-1].contiguous(), windows[:, 1:].contiguous())
                loss_sum += loss.item() * len(windows)
                count += len(windows)
        else:
            # The same global evaluation batches as one process would draw, each rank scoring its row.
            generator = torch.Generator().manual_seed(self.ctx.seed + 1)
            batches = self.ctx.job.options.eval_batches or 8
            for _ in range(batches):
                x, y = self._windows(self.val, self._starts(self.val, (world, self.micro_batch), generator)[rank])
                with self.autocast():
                    _, loss = self.model(x, y)
                loss_sum += loss.item() * len(x)
                count += len(x)
        loss_sum, total = distributed.all_reduce([loss_sum, float(count)], device=str(self.device))
        mean = loss_sum / total
        return EvalResult({"loss": mean, "perplexity": math.exp(min(mean, 50))}, int(total))

    def baseline(self) -> dict[str, float]:
        train = self.train.read(0, min(self.train.length, BASELINE_MAX_TOKENS))
        val = self.val.read(0, min(self.val.length, BASELINE_MAX_TOKENS))
        model = NgramModel.fit(NgramConfig(self.tokenizer.vocab_size, BASELINE_ORDER), train)
        loss = model.cross_entropy(val)
        return {"loss": loss, "perplexity": math.exp(loss)}

    def export(self, folder: Path) -> dict[str, Any]:
        save_causal_lm(folder, self.model, self.tokenizer)
        return {"family": ARCHITECTURE, "config": self.gpt_config.__dict__,
                "parameter_count": self.model.num_parameters()}

    def state_dict(self) -> dict[str, Any]:
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "sampler": self.sampler.get_state(), "gpt_config": self.gpt_config.__dict__}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if GPTConfig(**state["gpt_config"]) != self.gpt_config:
            raise ValueError("the checkpoint's architecture does not match the job's configuration")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.sampler.set_state(state["sampler"])

    @torch.no_grad()
    def sample(self, prompt: str, max_new_tokens: int) -> str:
        self.model.eval()
        ids = self.tokenizer.encode(prompt) or [0]
        idx = torch.tensor([ids], dtype=torch.long, device=self.device)
        generator = torch.Generator(device=self.device).manual_seed(self.ctx.seed)
        out = self.model.generate(idx, max_new_tokens, temperature=0.8, top_k=40, generator=generator)
        return self.tokenizer.decode(out[0, len(ids):].tolist())

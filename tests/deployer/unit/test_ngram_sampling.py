"""The n-gram model's next-token distribution (what the ngram-lm runtime samples from) agrees with the
probabilities it scores text with, for both smoothings, and sampling is reproducible for a seed."""

from __future__ import annotations

import numpy as np
import pytest

from lathe.ml.ngram import NgramConfig, NgramModel

TEXT = ("the cat sat on the mat. the dog sat on the log. " * 30).encode()


@pytest.mark.parametrize("smoothing", ["kneser-ney", "add-k"])
def test_next_token_probabilities_match_the_scored_ones_and_sum_to_one(smoothing):
    tokens = np.frombuffer(TEXT, dtype=np.uint8).astype(np.int64)
    model = NgramModel.fit(NgramConfig(256, 3, smoothing), tokens)
    scored = model.log_probs(tokens[:60])
    for i in range(2, 60):
        assert model.next_log_probs(tokens[:i])[tokens[i]] == pytest.approx(scored[i - 2], abs=1e-9)
    for context in ([], [116], list(tokens[:10])):  # short contexts use the lower orders
        assert np.exp(model.next_log_probs(context)).sum() == pytest.approx(1.0, abs=1e-9)
    first = model.generate(list(b"the "), 30, temperature=0.7, seed=3)
    assert first == model.generate(list(b"the "), 30, temperature=0.7, seed=3)
    if smoothing == "kneser-ney":
        assert bytes(model.generate(list(b"the c"), 3, temperature=0)) == b"at "

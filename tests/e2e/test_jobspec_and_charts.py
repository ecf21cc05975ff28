"""Job spec files (validation with file:line:key errors, the TrainingJob they make) and the chart writers
(valid PNG/SVG of the expected size with one element per plotted series)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lathe.cli.jobspec import SpecError, load_spec, to_deployment, to_training_job
from lathe.cli.plots import daily_chart, loss_chart, metric_bars
from lathe.deployer.v1 import deployment_pb2
from lathe.trainer.v1 import training_config_pb2 as cfg
from tests.e2e.test_demo import png_size, svg_series

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["causal-lm.yaml", "embedding-finetune.yaml", "ngram-baseline.yaml"])
def test_every_example_validates(name: str) -> None:
    spec = load_spec(EXAMPLES / name)
    job = to_training_job(spec)
    assert job.recipe != cfg.RECIPE_UNSPECIFIED


def test_the_causal_lm_example_becomes_the_job_and_deployment_it_describes() -> None:
    spec = load_spec(EXAMPLES / "causal-lm.yaml")
    job = to_training_job(spec, snapshot="snapshots/abc")
    assert job.recipe == cfg.RECIPE_CAUSAL_LM and job.model == "models/shakespeare"
    assert job.data_source.snapshot == "snapshots/abc"
    assert (job.causal_lm.layers, job.causal_lm.heads, job.causal_lm.embedding_size) == (2, 4, 96)
    assert job.causal_lm.tokenizer == cfg.TOKENIZER_CHAR and job.causal_lm.dropout == 0.0
    o = job.options
    assert (o.max_steps, o.batch_size, o.warmup_steps, o.seed) == (300, 24, 20, 7)
    assert o.learning_rate == pytest.approx(3e-3) and o.weight_decay == pytest.approx(0.1)
    assert o.learning_rate_schedule == cfg.LEARNING_RATE_SCHEDULE_COSINE
    assert (o.early_stopping.metric, o.early_stopping.patience) == ("validation/loss", 3)
    assert o.checkpoint_policy.keep_best == 1 and o.checkpoint_policy.best_metric == "validation/loss"
    d = to_deployment(spec, "models/shakespeare/versions/1")
    assert d.target == deployment_pb2.Deployment.TARGET_LOCAL and d.health_check_config.probe_text == "ROMEO:"
    assert d.health_check_config.timeout.seconds == 30


@pytest.mark.parametrize(("text", "line", "key", "words"), [
    ("recipe: causal-lm\nhyperparameters:\n  batch_size: 8\n  learning_rate: -1\n", 4,
     "hyperparameters.learning_rate", "greater than 0"),
    ("recipe: causal-lm\nhyperparameters:\n  steps: 10\n  epochs: 1\n", 2, "hyperparameters", "not both"),
    ("recipe: causal-lm\ndata:\n  snapshot: snapshots/x\n  filter: 'type = TEXT'\n", 2, "data", "either"),
    ("recipe: causal-lm\narchitecture:\n  layers: 2\n  heads: 3\n  embedding_size: 64\n", 2, "architecture",
     "divisible"),
    ("recipe: causal-lm\narchitecture:\n  layres: 2\n", 3, "architecture.layres", "not permitted"),
    ("recipe: embedding-finetune\nevaluation:\n  metrics:\n    - mrr\n    - perplexity\n", 5,
     "evaluation.metrics[1]", "does not compute"),
    ("recipe: causal-lm\ndeployment:\n  target: mars\n", 3, "deployment.target", "local"),
    ("recipe: gpt-5\n", 1, "recipe", "causal-lm"),
    ("name: x\n", 1, "recipe", "required"),
    ("recipe: causal-lm\nhyperparameters: {steps: 10\n", 3, "", "YAML"),
])
def test_a_bad_spec_names_the_line_and_the_key(tmp_path: Path, text: str, line: int, key: str, words: str) -> None:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    problem = caught.value.problems[0]
    assert (problem.line, problem.key) == (line, key), str(caught.value)
    assert words.lower() in problem.message.lower() or words.lower() in str(caught.value).lower()
    assert str(problem).startswith(f"{path}:{line}:")


def test_the_cli_prints_spec_errors_without_a_traceback_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "job.yaml"
    path.write_text("recipe: causal-lm\nhyperparameters:\n  batch_size: 0\n")
    result = subprocess.run([sys.executable, "-m", "lathe.cli", "train", "--config", str(path), "--check"],
                            capture_output=True, text=True, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2, result.stderr
    assert f"{path}:3: hyperparameters.batch_size" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr
    ok = subprocess.run([sys.executable, "-m", "lathe.cli", "train", "--config", str(EXAMPLES / "causal-lm.yaml"),
                         "--check"], capture_output=True, text=True)
    assert ok.returncode == 0 and "valid causal-lm job spec" in ok.stdout


def test_charts_are_valid_images_of_the_expected_size_with_every_series(tmp_path: Path) -> None:
    train = [(s, 4.0 - s / 100) for s in range(1, 200)]
    validation = [(50, 3.4), (100, 2.9), (150, 2.5), (199, 2.2)]
    assert png_size(loss_chart("job", train, validation, 2.48, tmp_path / "loss.png")) == (900, 500)
    assert svg_series(loss_chart("job", train, validation, 2.48, tmp_path / "loss.svg")) == {
        "series-train": 1, "series-validation": 1, "series-baseline": 1}
    assert svg_series(loss_chart("job", train, [], None, tmp_path / "train-only.svg")) == {"series-train": 1}

    bars = metric_bars(["m:1", "m:2", "m:3"], {"validation/loss": [2.5, 2.3, 2.1], "validation/mrr": [0.5, None, 0.7]},
                       tmp_path / "bars.svg")
    assert svg_series(bars) == {"series-0": 2, "series-1": 2, "series-2": 2}  # one bar per metric per version
    assert png_size(metric_bars(["a", "b"], {"x": [1.0, 2.0]}, tmp_path / "bars.png")) == (900, 500)

    days = daily_chart(["2025-06-01", "2025-06-02", "2025-06-03"], [0.5, None, 0.7], [3.0, 0.0, 12.5],
                       tmp_path / "days.svg")
    assert svg_series(days) == {"series-training-time": 3, "series-quality": 1}

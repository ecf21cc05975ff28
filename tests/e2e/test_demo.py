"""The README's journey through the CLI as subprocesses, in a fresh home: ``lathe demo`` finishes, the trained
models beat their baselines, inference answers, charts are real images, ``lathe stats --json`` (against the
suite restarted with ``lathe up``) reports what the services hold, and no process is left behind.

It runs on SQLite and on PostgreSQL (a few minutes each on two cores: training is most of it).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lathe.kit.datasets import datasets_dir

LATHE = [sys.executable, "-m", "lathe.cli"]
DATASETS = datasets_dir()
pytestmark = pytest.mark.skipif(not (DATASETS / "stackfaq.json").exists(), reason="the demo datasets are missing")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (after checking the signature)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def svg_series(path: Path) -> dict[str, int]:
    """How many <path> elements each ``series-…`` group of an SVG holds (bars grouped by series index)."""
    import xml.etree.ElementTree as ET

    def drawn(element: ET.Element) -> int:  # paths drawn, not marker shapes defined in <defs>
        return sum((child.tag.endswith("path")) + drawn(child) for child in element if not child.tag.endswith("defs"))

    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    counts: dict[str, int] = {}
    for element in root.iter():
        gid = element.get("id") or ""
        if gid.startswith("series-"):
            key = gid.split("-bar-")[0]
            counts[key] = counts.get(key, 0) + drawn(element)
    return counts


def processes_of(home: Path) -> list[int]:
    """Processes whose environment names this home (services, trainer workers)."""
    marker = f"LATHE_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def free_base() -> int:
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        ok = True
        for port in range(base, base + 5):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok and base + 5 < 65535:
            return base
    raise AssertionError("no free ports")


def lathe(home: Path, *args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*LATHE, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "LATHE_HOME": str(home), "COLUMNS": "160", **(env or {})})


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request) -> str | None:
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("postgres_url")


@pytest.mark.timeout(900)
def test_the_demo_journey_end_to_end(tmp_path: Path, backend: str | None) -> None:
    home = tmp_path / "home"
    env = {"LATHE_DATABASE_URL": backend} if backend else {}
    if not backend:
        os.environ.pop("LATHE_DATABASE_URL", None)
    started = time.monotonic()
    demo = lathe(home, "demo", "--home", str(home), "--datasets", str(DATASETS), "--lm-steps", "240",
                 timeout=600, env=env)
    elapsed = time.monotonic() - started
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    print(f"demo took {elapsed:.0f} s")
    assert processes_of(home) == [], "the demo left processes behind"

    summary = json.loads((home / "demo" / "summary.json").read_text())
    # The causal-lm beats its n-gram baseline; the fine-tune beats the un-tuned model on held-out questions.
    lm = summary["causal_lm"]["validation/loss"]
    assert lm["trained"] < lm["baseline"], lm
    emb = summary["embedding"]["validation/mrr"]
    assert emb["trained"] > emb["baseline"], emb
    # Inference answered: an answer from the candidates and a non-empty generated sample.
    assert summary["answer"]["answer"] and summary["answer"]["rank_of_right_thread"] <= 5, summary["answer"]
    assert len(summary["sample"]) > 20
    assert "Q:" in demo.stdout and "sample from demo-lm" in demo.stdout
    # Charts are real images of the expected size, with the series plotted.
    assert png_size(Path(summary["charts"]["causal_lm_loss"])) == (900, 500)
    series = svg_series(Path(summary["charts"]["compare"]))
    assert set(series) == {"series-0", "series-1"} and all(series.values()), series

    # Restart the suite on the same home and look at it through the CLI, as a user would.
    base = free_base()
    up = subprocess.Popen([*LATHE, "up", "--home", str(home), "--port-base", str(base)],
                          env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while lathe(home, "status", "--home", str(home)).returncode != 0:
            assert up.poll() is None and time.monotonic() < deadline, "lathe up did not become healthy"
            time.sleep(1)
        stats = lathe(home, "stats", "--json", "--home", str(home))
        assert stats.returncode == 0, stats.stderr
        result = json.loads(stats.stdout)
        assert result["corpus"]["texts"] == 1 and result["corpus"]["qa_clusters"] == 125
        assert result["corpus"]["characters"] >= 1_115_394
        assert result["trainer"]["jobs_by_state"] == {"SUCCEEDED": 3}
        assert result["trainer"]["checkpoints"]["total"] >= 2
        assert result["registry"]["versions"] == 3
        models = {m["name"]: m for m in result["registry"]["by_model"]}
        lm_model = models["models/demo-shakespeare"]
        assert lm_model["best_metrics"]["validation/loss"]["value"] == pytest.approx(lm["trained"], rel=1e-6)
        assert result["deployer"]["deployments"] == 2
        assert {d["name"] for d in result["deployer"]["items"]} == {"deployments/demo-faq", "deployments/demo-lm"}
        assert result["history"]["sessions"] == 3 and result["history"]["succeeded"] == 3
        assert result["registry"] == summary["stats"]["registry"]  # what the demo saw is what is stored

        # The loss chart of the causal-lm job as SVG: one path per series (train, validation, baseline).
        job = summary["jobs"]["causal_lm"].split("/")[1]
        svg = tmp_path / "loss.svg"
        plot = lathe(home, "job", "plot", job, "--output", str(svg), "--home", str(home))
        assert plot.returncode == 0, plot.stderr
        assert svg_series(svg) == {"series-train": 1, "series-validation": 1, "series-baseline": 1}
        # Typed exit codes and a clean message, never a traceback.
        missing = lathe(home, "job", "show", "nope", "--home", str(home))
        assert missing.returncode == 3 and "NOT_FOUND" in missing.stderr and "Traceback" not in missing.stderr
        bad = lathe(home, "job", "plot", job, "--output", str(tmp_path / "x.gif"), "--home", str(home))
        assert bad.returncode == 2 and ".png or .svg" in bad.stderr
    finally:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(60)
        except subprocess.TimeoutExpired:
            up.kill()
    deadline = time.monotonic() + 20
    while processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_of(home) == [], "lathe up left processes behind"

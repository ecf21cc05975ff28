"""The trainer submits PyTorchJobs with ``kubectl``: the image must carry a pinned, checksum-verified one where the
trainer's default setting finds it. (No container engine here: the Dockerfile is checked by reading it.)"""

from __future__ import annotations

import re
from pathlib import Path

from services.trainer.settings import TrainerSettings

DOCKERFILE = Path(__file__).resolve().parents[3] / "Dockerfile"


def stages() -> dict[str, str]:
    parts = re.split(r"^FROM ", DOCKERFILE.read_text(), flags=re.M)[1:]
    return {re.search(r" AS (\w+)", part.splitlines()[0]).group(1): part for part in parts}


def test_the_image_downloads_a_pinned_kubectl_and_checks_it_in_the_same_run() -> None:
    kubectl = stages()["kubectl"]
    assert re.search(r"^ARG KUBECTL_VERSION=v1\.32\.\d+$", kubectl, flags=re.M)
    (run,) = re.findall(r"^RUN (?:.*\\\n)*.*$", kubectl, flags=re.M)
    assert "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH:-amd64}" in run
    # The binary and its published digest are fetched and compared before the layer is written.
    assert '"${release}/kubectl"' in run and '"${release}/kubectl.sha256"' in run
    assert run.count("sha256sum -c") == 2 and "curl -fsSL" in run


def test_the_runtime_stage_has_kubectl_on_the_path_and_no_download_tools() -> None:
    runtime = stages()["runtime"]
    assert "COPY --from=kubectl /out/kubectl /usr/local/bin/kubectl" in runtime
    assert not re.search(r"curl|apt-get", runtime)
    # The base image's PATH has /usr/local/bin; the trainer calls plain "kubectl" by default.
    assert re.search(r"PATH=/opt/lathe/venv/bin:\$PATH", runtime)
    assert TrainerSettings.model_fields["trainer_kubectl"].default == "kubectl"

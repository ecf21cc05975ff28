# syntax=docker/dockerfile:1.7
# One image for every Lathe service; the first argument names the service:
#   docker run IMAGE registry            (python -m services.registry)
#   docker run IMAGE registry migrate    (apply migrations and exit)
#
# CPU build (the default):   docker build -t REGISTRY/lathe:0.1.0 .
# CUDA build (trainer and deployer on GPU nodes):
#   docker build --build-arg TORCH_VARIANT=cu128 -t REGISTRY/lathe:0.1.0-cuda .
# The CUDA variant differs only in the torch wheel: PyTorch's CUDA wheels carry the CUDA runtime and cuDNN as
# pip packages, so the runtime stage stays the same slim Debian image; the GPU driver comes from the node
# (NVIDIA container toolkit / device plugin), never from the image.

ARG PYTHON_VERSION=3.11
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------------------------------------------------
# builder: compilers and pip live here only.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS builder

# torch is pinned exactly, as in pyproject.toml (tests/deploy checks that the two agree); TORCH_VARIANT picks
# the wheel: cpu, or a CUDA build such as cu126 / cu128.
ARG TORCH_VERSION=2.13.0
ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
RUN python -m venv /opt/lathe/venv
ENV PATH=/opt/lathe/venv/bin:$PATH

WORKDIR /src
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services

# torch first in the same pip call, from the index of the wanted variant, so sentence-transformers' torch
# requirement is satisfied by it instead of pulling a different build. A regular (not editable) install: the
# runtime stage has no source tree, only the venv.
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --extra-index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}+${TORCH_VARIANT}" . \
    && python -m compileall -q /opt/lathe/venv/lib \
    && pip uninstall -y pip setuptools wheel

# ---------------------------------------------------------------------------------------------------------
# kubectl: the trainer submits multi-pod jobs as Kubeflow PyTorchJobs with it (services/trainer/adapters/remote.py,
# deploy/k8s/components/kubeflow-training). A pinned release from dl.k8s.io, checked in the same RUN against the
# sha256 published beside it (and against KUBECTL_SHA256 too when the build pins one); curl stays in this stage.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS kubectl

ARG KUBECTL_VERSION=v1.32.9
ARG KUBECTL_SHA256=
# Set by BuildKit from the target platform (amd64, arm64).
ARG TARGETARCH

RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && release="https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH:-amd64}" \
    && mkdir /out && cd /out \
    && curl -fsSL --retry 3 -o kubectl "${release}/kubectl" \
    && published="$(curl -fsSL --retry 3 "${release}/kubectl.sha256")" \
    && echo "${published}  kubectl" | sha256sum -c - \
    && if [ -n "${KUBECTL_SHA256}" ]; then echo "${KUBECTL_SHA256}  kubectl" | sha256sum -c -; fi \
    && chmod 0755 kubectl \
    && ./kubectl version --client

# ---------------------------------------------------------------------------------------------------------
# runtime: no compiler, no pip, no source; a non-root user; nothing written outside the volumes.
FROM python:${PYTHON_VERSION}-slim-${DEBIAN_RELEASE} AS runtime

ARG TORCH_VARIANT=cpu
LABEL org.opencontainers.image.title="lathe" \
      org.opencontainers.image.description="Lathe services (corpus, trainer, registry, history, deployer)" \
      org.opencontainers.image.licenses="Apache-2.0" \
      dev.lathe.torch-variant="${TORCH_VARIANT}"

# A fixed numeric uid/gid, so Kubernetes' runAsNonRoot can verify it and volumes can be chowned by fsGroup.
RUN groupadd --system --gid 10001 lathe \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/lathe --no-create-home \
       --shell /usr/sbin/nologin lathe \
    && mkdir -p /var/lib/lathe \
    && chown 10001:10001 /var/lib/lathe \
    && rm -rf /usr/local/lib/python*/ensurepip /usr/local/bin/pip* /usr/local/lib/python*/site-packages/pip

COPY --from=builder /opt/lathe/venv /opt/lathe/venv
COPY --from=kubectl /out/kubectl /usr/local/bin/kubectl
COPY --chmod=0755 deploy/docker/lathe-service /usr/local/bin/lathe-service

# Every path a service writes is under LATHE_HOME (a volume) or /tmp (a volume), so the root filesystem can be
# mounted read-only. Caches that libraries would put under ~ go to the home volume too.
ENV PATH=/opt/lathe/venv/bin:$PATH \
    LATHE_HOME=/var/lib/lathe \
    LATHE_HOST=0.0.0.0 \
    LATHE_LOG_FORMAT=json \
    HOME=/var/lib/lathe \
    TMPDIR=/tmp \
    HF_HOME=/var/lib/lathe/cache/huggingface \
    TORCHINDUCTOR_CACHE_DIR=/tmp/torchinductor \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

VOLUME ["/var/lib/lathe", "/tmp"]
WORKDIR /var/lib/lathe
USER 10001:10001
# corpus, trainer, registry, history, deployer (each service binds its own LATHE_PORT).
EXPOSE 50051 50052 50053 50054 50055

ENTRYPOINT ["lathe-service"]

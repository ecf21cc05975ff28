"""``python -m services.deployer serve-model``: serve one verified model version over the inference API only.

This is the model server the ``kubernetes`` target's manifests start in each pod. It takes the version
either from the registry (``--version`` with ``LATHE_REGISTRY_ADDRESS`` and ``LATHE_SERVICE_TOKEN``: every
file is fetched and checked against the registry's manifest) or from the artifact store directly
(``--artifact-uri`` with ``--digest``, as the manifests pass them in ``LATHE_ARTIFACT_URI`` and
``LATHE_ARTIFACT_DIGEST``: the copied folder must hash to that manifest digest). Nothing is served until
the copy is verified, loaded and a probe inference passes; a mismatch or a failed probe exits with
status 3 and says why, so a pod never becomes ready with a model that is not the registered one.

Only ``inference.GRPCInferenceService`` (and the gRPC health service, for readiness probes) is served,
under ``--model-name`` (the deployment ID in the manifests).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlparse

import grpc
import structlog

from inference import grpc_predict_v2_pb2, grpc_predict_v2_pb2_grpc
from lathe.kit.artifacts import folder_file_uri, open_uri
from lathe.kit.auth import TokenAuthenticator
from lathe.kit.errors import LatheError, from_rpc_error
from lathe.kit.logging import configure_logging
from lathe.kit.manifest import folder_manifest, manifest_digest
from lathe.kit.peers import Peers
from lathe.kit.server import ServiceBinding, build_server
from lathe.registry.v1 import registry_service_pb2
from services.deployer.adapters.fetch import ArtifactUnavailable, fetch_and_verify, local_path
from services.deployer.adapters.runtimes import Runtime, detect_kind, load_runtime, probe_blocking
from services.deployer.adapters.serving import Served, ServingTable
from services.deployer.api.inference import InferenceServicer
from services.deployer.settings import DeployerSettings

INFERENCE_NAME = grpc_predict_v2_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
EXIT_REFUSED = 3
_log = structlog.get_logger("lathe.deployer.serve_model")


class Refused(Exception):
    """The version cannot be served: its artifact is unavailable, does not verify, or fails its probe."""


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The serve-model options; each defaults to the environment variable the Kubernetes manifests set."""
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m services.deployer serve-model",
                                     description="Serve one verified model version over the inference API.")
    parser.add_argument("--version", default=env("LATHE_MODEL_VERSION", ""),
                        help="models/{model}/versions/{n} (or an alias) to fetch from the registry")
    parser.add_argument("--artifact-uri", default=env("LATHE_ARTIFACT_URI", ""),
                        help="the version's artifact folder (file://… or s3://…); with --digest, no registry is needed")
    parser.add_argument("--digest", default=env("LATHE_ARTIFACT_DIGEST", ""),
                        help="the registry's manifest digest (sha256:…) the folder must hash to")
    parser.add_argument("--model-name", default=env("LATHE_MODEL_NAME", ""),
                        help="the ModelInferRequest.model_name to answer to (default: the model's name)")
    parser.add_argument("--revision", type=int, default=int(env("LATHE_REVISION", "1")),
                        help="the version string ModelInfer reports (the deployment revision)")
    parser.add_argument("--port", type=int, default=int(env("LATHE_PORT", "8001")))
    parser.add_argument("--host", default=env("LATHE_HOST", "0.0.0.0"))
    parser.add_argument("--device", default=env("LATHE_DEVICE", ""))
    parser.add_argument("--max-batch-size", type=int, default=int(env("LATHE_MAX_BATCH_SIZE", "32")))
    parser.add_argument("--max-queue-delay-ms", type=float, default=float(env("LATHE_MAX_QUEUE_DELAY_MS", "0")))
    parser.add_argument("--work-dir", default=env("LATHE_WORK_DIR", ""),
                        help="where the verified copy is written (default: a new temporary folder)")
    args = parser.parse_args(argv)
    if not args.version and not (args.artifact_uri and args.digest):
        parser.error("give --version (fetched from the registry) or --artifact-uri with --digest")
    if args.artifact_uri and not args.digest:
        parser.error("--artifact-uri needs --digest: an unverified folder is never served")
    return args


def copy_and_verify(uri: str, digest: str, destination: Path) -> None:
    """Copy the artifact folder at ``uri`` (``file://`` or ``s3://``) and check it hashes to the manifest
    ``digest``; Refused if not. Every file under the folder is copied, so one added there is a mismatch too."""
    if destination.exists():
        shutil.rmtree(destination)
    if urlparse(uri).scheme == "s3":
        _copy_s3_folder(uri, destination)
    else:
        try:
            source = local_path(uri)
        except ArtifactUnavailable as exc:
            raise Refused(str(exc)) from None
        if not source.is_dir():
            raise Refused(f"the artifact folder {uri} does not exist")
        shutil.copytree(source, destination, symlinks=False)
    found = manifest_digest(folder_manifest(destination))
    if found.removeprefix("sha256:") != digest.removeprefix("sha256:"):
        raise Refused(f"ARTIFACT_CHECKSUM_MISMATCH: the folder at {uri} hashes to {found}, not the registry's "
                      f"{digest}; it is not served")


def _copy_s3_folder(uri: str, destination: Path) -> None:
    """Every object under the ``s3://`` folder, streamed into ``destination`` (hashed afterwards, as a whole)."""
    from lathe.kit.s3 import list_folder

    try:
        listed = list_folder(uri)
        if not listed:
            raise Refused(f"the artifact folder {uri} does not exist")
        destination.mkdir(parents=True)
        root = destination.resolve()
        for rel, _ in listed:
            target = (destination / rel).resolve()
            if root not in target.parents:
                raise Refused(f"ARTIFACT_CHECKSUM_MISMATCH: the object {rel!r} under {uri} leaves the folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            with open_uri(folder_file_uri(uri, rel)) as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink, 1 << 20)
    except LatheError as exc:
        raise Refused(f"cannot read the artifact folder {uri}: {exc.message}") from None


async def fetch_from_registry(settings: DeployerSettings, version: str, digest: str, destination: Path) -> str:
    """Fetch ``version``'s files through the registry's download, verifying each; returns the version name."""
    peers = Peers.from_settings(settings)
    try:
        download = await peers.registry().GetVersionDownload(
            registry_service_pb2.GetVersionDownloadRequest(name=version))
    except grpc.aio.AioRpcError as exc:
        raise Refused(f"cannot get {version}'s download from the registry: {from_rpc_error(exc).message}") from None
    finally:
        await peers.close()
    if digest and download.manifest.digest.removeprefix("sha256:") != digest.removeprefix("sha256:"):
        raise Refused(f"ARTIFACT_CHECKSUM_MISMATCH: the registry's manifest of {download.model_version} is "
                      f"{download.manifest.digest}, not {digest}")
    files = [(f.path, f.uri, f.size_bytes, f.sha256) for f in download.files]
    try:
        mismatches = await asyncio.to_thread(fetch_and_verify, files, destination)
    except ArtifactUnavailable as exc:
        raise Refused(str(exc)) from None
    if mismatches:
        listed = "; ".join(f"{m.path}: {m.problem}" for m in mismatches[:5])
        raise Refused(f"ARTIFACT_CHECKSUM_MISMATCH: {len(mismatches)} file(s) of {download.model_version} do not "
                      f"match the registry's manifest: {listed}")
    return download.model_version


async def prepare(args: argparse.Namespace, settings: DeployerSettings, work: Path) -> tuple[str, Runtime]:
    """Verify, load and probe the version; returns ``(version name, runtime)``."""
    folder = work / "artifact"
    if args.artifact_uri:
        await asyncio.to_thread(copy_and_verify, args.artifact_uri, args.digest, folder)
        version = args.version or args.artifact_uri
    else:
        version = await fetch_from_registry(settings, args.version, args.digest, folder)
    try:
        kind = await asyncio.to_thread(detect_kind, folder)
        device = args.device or _device()
        runtime = await asyncio.to_thread(load_runtime, folder, kind, device=device,
                                          max_batch_size=args.max_batch_size,
                                          max_queue_delay=args.max_queue_delay_ms / 1000, name="serve-model")
    except Exception as exc:
        raise Refused(f"MODEL_LOAD_FAILED: {type(exc).__name__}: {exc}") from None
    try:
        message = await runtime.batcher.run_alone_fn(probe_blocking, runtime, "")
    except Exception as exc:
        await runtime.close()
        raise Refused(f"HEALTH_CHECK_FAILED: {exc}") from None
    _log.info("model_verified_and_probed", version=version, kind=kind, device=device, probe=message)
    return version, runtime


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _default_name(version: str) -> str:
    if version.startswith("models/"):
        return version.split("/")[1].split("@")[0].replace("_", "-").replace(".", "-")
    return "model"


async def serve(args: argparse.Namespace, settings: DeployerSettings) -> None:
    """Verify and load, then serve the inference API until SIGTERM/SIGINT."""
    own = not args.work_dir
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="lathe-serve-model-"))
    try:
        version, runtime = await prepare(args, settings, work)
        name = args.model_name or _default_name(version)
        table = ServingTable()
        table.set_current(name, Served(args.revision, version, runtime))
        server = build_server(
            [ServiceBinding(INFERENCE_NAME, grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server,
                            InferenceServicer(table))],
            authenticator=TokenAuthenticator.from_file(settings.resolved_tokens_file()),
            host=args.host, port=args.port, max_message_bytes=settings.max_message_bytes,
            error_domain="deployer.lathe.dev")
        server.on_stop.append(runtime.close)
        _log.info("serving_model", model_name=name, version=version, address=server.address)
        await server.serve_until_signalled(settings.shutdown_grace_seconds)
    finally:
        if own:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str]) -> int:
    """Run serve-model; 3 when the version is refused, 2 for bad arguments."""
    args = parse_args(argv)
    settings = DeployerSettings()
    configure_logging(settings.log_level, settings.log_format, service="deployer-model")
    try:
        asyncio.run(serve(args, settings))
    except Refused as exc:
        _log.error("model_refused", error=str(exc))
        print(f"serve-model: refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    return 0

"""Settings of the deployer service (``LATHE_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from lathe.kit.settings import ServiceSettings


class DeployerSettings(ServiceSettings):
    """The shared service settings plus the deployer's own."""

    deploy_root: Path | None = Field(
        None, description="Where fetched artifacts and exports are written; defaults to home/deployer.")
    default_max_batch_size: int = Field(32, ge=1, le=1024, description="Dynamic batching: largest batch.")
    default_max_queue_delay_ms: float = Field(
        0.0, ge=0, le=1000,
        description="Dynamic batching: longest wait for a batch to fill. 0 dispatches whatever queued while the "
                    "model was busy, so a lone request waits for nothing.")
    health_check_timeout_seconds: float = Field(30.0, gt=0, le=600, description="Default health check timeout.")
    health_check_min_period_seconds: float = Field(
        5.0, gt=0, le=3600, description="The shortest health_check_config.period accepted (periodic checks).")
    drain_seconds: float = Field(2.0, ge=0, description="How long a replaced revision stays loaded for stragglers.")
    kubernetes_namespace: str = Field("lathe", description="Default namespace of Kubernetes deployments.")
    kubernetes_image: str = Field("ghcr.io/lathe-dev/lathe-deployer:0.1.0",
                                  description="Default model server image of Kubernetes deployments.")
    kubernetes_apply: str = Field(
        "dry-run", pattern="^(dry-run|kubectl)$",
        description="How rendered manifests are applied: dry-run (validated and written, not applied) or kubectl.")

    def resolved_deploy_root(self) -> Path:
        """The folder for fetched artifacts and exports."""
        return self.deploy_root or self.home / "deployer"

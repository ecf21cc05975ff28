"""The in-process serving table: which loaded runtime answers each deployment's inference requests.

A switch is one assignment on the event loop, so a request is routed either to the old runtime or to
the new one, never to nothing; the replaced runtime keeps finishing the requests it already has.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from lathe.kit.errors import FailedPrecondition, NotFound, Unavailable
from services.deployer.adapters.runtimes import Runtime


@dataclass
class Served:
    """One loaded revision."""

    revision: int
    model_version: str
    runtime: Runtime


@dataclass
class Entry:
    """The revisions a deployment serves: the current one and an optional canary with its share."""

    current: Served | None = None
    canary: Served | None = None
    canary_percent: int = 0


class ServingTable:
    """Deployment ID → its loaded revisions; read by the inference servicer, changed by rollouts."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._random = random.Random()
        # After a restart: True until the deployments that served before are known; their IDs stay in
        # ``restoring`` until their revisions are verified, loaded and probed again.
        self.starting = False
        self.restoring: set[str] = set()
        # Deployments whose serving revision could not be restored, with why (until a revision serves again).
        self.unavailable: dict[str, str] = {}

    @property
    def ready(self) -> bool:
        """Whether every deployment that should serve has been restored (or given up on)."""
        return not self.starting and not self.restoring

    def names(self) -> list[str]:
        """Deployment IDs with a serving revision."""
        return sorted(name for name, entry in self._entries.items() if entry.current or entry.canary)

    def entry(self, name: str) -> Entry | None:
        """The entry of a deployment, if any."""
        return self._entries.get(name)

    def route(self, name: str, version: str = "") -> Served:
        """The revision that answers a request for model ``name`` (pinned to ``version`` when given)."""
        entry = self._entries.get(name)
        if name in self.restoring:
            raise Unavailable(f"model {name!r} is being restored after a deployer restart; retry shortly",
                              reason="MODEL_RESTORING", metadata={"model_name": name})
        if entry is None or (entry.current is None and entry.canary is None):
            if self.starting:
                raise Unavailable("the deployer is starting and restoring its models; retry shortly",
                                  reason="SERVER_STARTING", metadata={"model_name": name})
            if name in self.unavailable:
                raise FailedPrecondition(f"model {name!r} is not served: {self.unavailable[name]}",
                                         reason="MODEL_NOT_RESTORED", metadata={"model_name": name})
            raise NotFound(f"model {name!r} is not served here; deploy it with target local first",
                           reason="MODEL_NOT_FOUND", metadata={"model_name": name})
        if version:
            for served in (entry.current, entry.canary):
                if served is not None and str(served.revision) == version:
                    return served
            raise NotFound(f"model {name!r} has no loaded version {version!r}", reason="MODEL_VERSION_NOT_FOUND",
                           metadata={"model_name": name, "model_version": version})
        if entry.canary is not None and (entry.current is None
                                         or self._random.random() * 100 < entry.canary_percent):
            return entry.canary
        assert entry.current is not None
        return entry.current

    def set_current(self, name: str, served: Served) -> Served | None:
        """Make ``served`` the current revision; returns the one it replaced."""
        entry = self._entries.setdefault(name, Entry())
        previous, entry.current = entry.current, served
        self.unavailable.pop(name, None)
        return previous

    def set_canary(self, name: str, served: Served | None, percent: int = 0) -> Served | None:
        """Set (or clear, with None) the canary; returns the canary it replaced."""
        entry = self._entries.setdefault(name, Entry())
        previous, entry.canary, entry.canary_percent = entry.canary, served, percent if served else 0
        return previous

    def set_canary_percent(self, name: str, percent: int) -> None:
        """Change the canary's share."""
        if (entry := self._entries.get(name)) is not None:
            entry.canary_percent = percent

    def promote(self, name: str) -> Served | None:
        """The canary becomes current; returns the replaced current revision."""
        entry = self._entries[name]
        previous, entry.current, entry.canary, entry.canary_percent = entry.current, entry.canary, None, 0
        return previous

    def remove(self, name: str) -> list[Served]:
        """Stop serving a deployment; returns its revisions (to unload)."""
        entry = self._entries.pop(name, None)
        self.unavailable.pop(name, None)
        self.restoring.discard(name)
        return [s for s in (entry.current, entry.canary) if s is not None] if entry else []

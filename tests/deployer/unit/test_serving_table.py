"""What the inference API says about a model while the deployer restores it after a restart."""

from __future__ import annotations

import pytest

from lathe.kit.errors import FailedPrecondition, NotFound, Unavailable
from services.deployer.adapters.serving import Served, ServingTable


def test_a_model_being_restored_is_unavailable_not_missing_and_a_refused_one_says_why() -> None:
    table = ServingTable()
    table.starting = True
    assert not table.ready
    with pytest.raises(Unavailable) as starting:
        table.route("chat")
    assert starting.value.reason == "SERVER_STARTING"

    table.starting, table.restoring = False, {"chat"}
    assert not table.ready
    with pytest.raises(Unavailable) as restoring:
        table.route("chat")
    assert restoring.value.reason == "MODEL_RESTORING"
    with pytest.raises(NotFound):
        table.route("other")

    table.restoring.clear()
    table.unavailable["chat"] = "ARTIFACT_CHECKSUM_MISMATCH: weights changed"
    assert table.ready
    with pytest.raises(FailedPrecondition) as refused:
        table.route("chat")
    assert refused.value.reason == "MODEL_NOT_RESTORED" and "weights changed" in refused.value.message

    served = Served(2, "models/m/versions/1", runtime=None)  # type: ignore[arg-type]
    table.set_current("chat", served)
    assert table.route("chat") is served and "chat" not in table.unavailable

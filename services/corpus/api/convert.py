"""Stored rows ⇄ protobuf messages of ``lathe.corpus.v1``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from google.rpc import error_details_pb2, status_pb2

from lathe.corpus.v1 import (
    answer_pb2,
    embedding_model_pb2,
    embedding_pb2,
    import_batch_pb2,
    qa_cluster_pb2,
    question_pb2,
    snapshot_pb2,
    text_pb2,
)
from services.corpus.adapters.embedder import ModelSpec


def _ts(message: Any, field: str, value: datetime | str | None) -> None:
    if value is None:
        return
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    getattr(message, field).FromDatetime(value)


def batch_name(batch_id: str | None) -> str:
    """``importBatches/{id}``, or empty."""
    return f"importBatches/{batch_id}" if batch_id else ""


def text_to_proto(row: dict[str, Any], *, full: bool) -> text_pb2.Text:
    """A stored text; its content only when ``full``."""
    message = text_pb2.Text(
        name=f"texts/{row['id']}", title=row["title"], source=row["source"], origin=row["origin"],
        metadata=row["metadata"] or {}, word_count=row["word_count"], character_count=row["character_count"],
        size_bytes=row["size_bytes"], content_sha256=row["content_sha256"],
        import_batch=batch_name(row.get("import_batch")), creator=row["creator"],
    )
    if full:
        message.content = row["content"]
    _ts(message, "create_time", row["create_time"])
    return message


def answer_to_proto(row: dict[str, Any]) -> answer_pb2.Answer:
    """A stored answer."""
    message = answer_pb2.Answer(
        name=f"qaClusters/{row['cluster_id']}/answers/{row['id']}", content=row["content"],
        content_sha256=row["content_sha256"], position=row["position"], origin=row["origin"])
    _ts(message, "create_time", row["create_time"])
    return message


def question_to_proto(row: dict[str, Any]) -> question_pb2.Question:
    """A stored question."""
    message = question_pb2.Question(
        name=f"qaClusters/{row['cluster_id']}/questions/{row['id']}", content=row.get("content", ""),
        content_sha256=row["content_sha256"], source=row["source"], origin=row["origin"],
        import_batch=batch_name(row.get("import_batch")), creator=row["creator"])
    _ts(message, "create_time", row["create_time"])
    return message


def cluster_to_proto(row: dict[str, Any], answer_rows: list[dict[str, Any]],
                     question_rows: list[dict[str, Any]] | None) -> qa_cluster_pb2.QaCluster:
    """A stored cluster with its answers and, when given, its questions."""
    message = qa_cluster_pb2.QaCluster(
        name=f"qaClusters/{row['id']}", title=row["title"], external_id=row["external_id"] or "",
        tags=row["tags"] or [], answers=[answer_to_proto(a) for a in answer_rows],
        answer_count=row["answer_count"], question_count=row["question_count"], source=row["source"],
        origin=row["origin"], import_batch=batch_name(row.get("import_batch")), creator=row["creator"])
    if question_rows is not None:
        message.questions.extend(question_to_proto(q) for q in question_rows)
    _ts(message, "create_time", row["create_time"])
    _ts(message, "update_time", row["update_time"])
    return message


def status_of(error: dict[str, Any] | None, domain: str = "corpus.lathe.dev") -> status_pb2.Status | None:
    """A ``google.rpc.Status`` with an ErrorInfo from a stored ``{code, message, reason}``."""
    if not error:
        return None
    status = status_pb2.Status(code=error.get("code", 9), message=error.get("message", ""))
    status.details.add().Pack(error_details_pb2.ErrorInfo(reason=error.get("reason", "UNKNOWN"), domain=domain))
    return status


def batch_to_proto(row: dict[str, Any]) -> import_batch_pb2.ImportBatch:
    """A stored import batch with its history, error and results."""
    message = import_batch_pb2.ImportBatch(
        name=batch_name(row["id"]), root=row["root"], path=row["path"], format=row["format"],
        file_sha256=row["file_sha256"], size_bytes=row["size_bytes"], state=row["state"],
        results=import_batch_pb2.ImportBatchResults(**row["results"]), attempt_count=row["attempt_count"],
        scan_id=row["scan_id"], embedding_models=[f"embeddingModels/{m}" for m in row["embedding_models"]],
        creator=row["creator"])
    for h in row["history"]:
        transition = message.state_history.add(state=h["state"], attempt=h["attempt"], message=h["message"])
        _ts(transition, "event_time", h["time"])
    if row["state"] == 5:
        status = status_of(row["error"])
        if status is not None:
            message.error.CopyFrom(status)
        if row["failure"]:
            message.failure.CopyFrom(import_batch_pb2.ImportFailure(**row["failure"]))
    for field in ("create_time", "update_time", "start_time", "end_time"):
        _ts(message, field, row[field])
    return message


def model_to_proto(spec: ModelSpec, *, default: bool, weights_sha256: str) -> embedding_model_pb2.EmbeddingModel:
    """A configured embedding model."""
    return embedding_model_pb2.EmbeddingModel(
        name=f"embeddingModels/{spec.model_id}", model_name=spec.model_name, dimension=spec.dimension,
        max_seq_length=spec.max_seq_length, normalized=spec.normalized, weights_source=spec.weights_source,
        weights_sha256=weights_sha256, used_by_default=default)


def embedding_to_proto(row: dict[str, Any], values: Any = None) -> embedding_pb2.Embedding:
    """A stored embedding, with its values when given."""
    message = embedding_pb2.Embedding(
        name=f"{row['entity']}/embeddings/{row['model']}", entity=row["entity"], entity_type=row["entity_type"],
        model=f"embeddingModels/{row['model']}", dimension=row["dimension"], content_sha256=row["content_sha256"])
    if values is not None:
        message.values.extend(float(v) for v in values)
    _ts(message, "create_time", row["create_time"])
    return message


def snapshot_to_proto(row: dict[str, Any]) -> snapshot_pb2.Snapshot:
    """A stored (or, without an id, a validate-only) snapshot."""
    split = row["split_config"]
    message = snapshot_pb2.Snapshot(
        name=f"snapshots/{row['id']}" if row.get("id") else "", display_name=row["display_name"],
        description=row["description"], labels=row["labels"] or {}, filter=row["filter"],
        split_config=snapshot_pb2.SplitConfig(
            qa_strategy=split["qa_strategy"], text_strategy=split["text_strategy"], seed=split["seed"],
            validation_fraction=split["validation_fraction"], test_fraction=split["test_fraction"]),
        embedding_models=[f"embeddingModels/{m}" for m in row["embedding_models"]], state=row["state"],
        content_sha256=row["content_sha256"], member_list_sha256=row["member_list_sha256"], creator=row["creator"])
    counts = row["counts"]
    message.counts.member_count = counts["member_count"]
    message.counts.synthetic_member_count = counts["synthetic_member_count"]
    message.counts.content_size_bytes = counts["content_size_bytes"]
    for name in ("total", "train", "validation", "test"):
        getattr(message.counts, name).CopyFrom(snapshot_pb2.SplitCounts(**counts[name]))
    if row["state"] == 3:
        status = status_of(row.get("error"))
        if status is not None:
            message.error.CopyFrom(status)
    _ts(message, "create_time", row["create_time"])
    _ts(message, "update_time", row["update_time"])
    return message

"""Async clients of the Lathe services: channels with auth, request-id propagation, deadlines and retries."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import grpc

from lathe.kit.interceptors import REQUEST_ID_KEY, current_request_id

# Transparent retries of calls that failed with UNAVAILABLE (a peer restarting, a dropped connection).
# Only UNAVAILABLE: the call never reached the handler, so even a mutation is safe to resend.
RETRY_SERVICE_CONFIG = json.dumps(
    {
        # Spread calls over every address the target resolves to (the pods behind a headless Service, or an
        # "ipv4:a,b" list) instead of pinning each channel to the first.
        "loadBalancingConfig": [{"round_robin": {}}],
        "methodConfig": [
            {
                "name": [{}],
                "retryPolicy": {
                    "maxAttempts": 5,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "2s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    }
)


class _CallDetails(grpc.aio.ClientCallDetails):
    pass


class _Outbound:
    """Adds the bearer token, the current request id and a default deadline to every outbound call.

    grpc.aio files an interceptor under the first call kind it implements, so each kind gets its own
    subclass below.
    """

    def __init__(self, token: str | None, default_timeout: float | None) -> None:
        self._token = token
        self._timeout = default_timeout

    def _details(self, details: grpc.aio.ClientCallDetails, streaming: bool) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        if self._token and "authorization" not in metadata:
            metadata["authorization"] = f"Bearer {self._token}"
        if REQUEST_ID_KEY not in metadata:
            metadata[REQUEST_ID_KEY] = current_request_id() or uuid.uuid4().hex
        # Live streams (watches, exports) must not be cut by the unary default deadline.
        timeout = details.timeout if details.timeout is not None or streaming else self._timeout
        return _CallDetails(details.method, timeout, metadata, details.credentials, details.wait_for_ready)


class _UnaryUnary(_Outbound, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Callable, details: Any, request: Any) -> Any:
        return await continuation(self._details(details, False), request)


class _UnaryStream(_Outbound, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Callable, details: Any, request: Any) -> Any:
        return await continuation(self._details(details, True), request)


class _StreamUnary(_Outbound, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Callable, details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(details, False), request_iterator)


class _StreamStream(_Outbound, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Callable, details: Any, request_iterator: Any) -> Any:
        return await continuation(self._details(details, True), request_iterator)


def create_channel(
    target: str,
    *,
    token: str | None = None,
    default_timeout: float | None = 30.0,
    max_message_bytes: int = 16 * 1024 * 1024,
    retries: bool = True,
) -> grpc.aio.Channel:
    """An insecure async channel to ``target`` that authenticates with ``token``."""
    options: list[tuple[str, Any]] = [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.enable_retries", 1 if retries else 0),
    ]
    if retries:
        options.append(("grpc.service_config", RETRY_SERVICE_CONFIG))
    return grpc.aio.insecure_channel(
        target, options=options, interceptors=[
            kind(token, default_timeout) for kind in (_UnaryUnary, _UnaryStream, _StreamUnary, _StreamStream)
        ]
    )

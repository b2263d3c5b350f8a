"""A hostile SageMaker endpoint for tests: it answers what it is told to.

The embedded fake always answers well. This small aiohttp server on 127.0.0.1 sits in
front of it (or of nothing) and, per operation and job, replaces the answer with raw
bytes, rewrites the fake's real JSON answer, trickles a body byte by byte, or sends
odd headers. Everything else is passed through to the upstream fake unchanged, so a
job can move through its lifecycle while one poll, or every poll, is hostile.

::

    async with HostileServer(upstream=fake.endpoint_url) as hostile:
        hostile.rule("DescribeTrainingJob", body=b"[]", job="bad", times=3)
        hostile.rule("DescribeTrainingJob", mutate=lambda a: {**a, "X": 1})
        async with hostile.client() as client:
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
from typing import TYPE_CHECKING, Any, Self

import aiohttp
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

JSON = Any
_CONTENT_TYPE = "application/x-amz-json-1.1"


@dataclasses.dataclass(kw_only=True)
class Rule:
    """One hostile answer: which requests it matches and what it answers.

    Attributes:
        operation: the operation it matches, such as ``"DescribeTrainingJob"``.
        job: the ``TrainingJobName`` it matches, or ``None`` for any.
        body: raw bytes to answer with instead of the upstream answer.
        mutate: a function of the upstream answer (decoded JSON) returning the JSON
            to send (encoded with ``json.dumps``) or raw bytes.
        status: the HTTP status of the answer.
        headers: extra headers (``Content-Type`` is the JSON 1.1 type unless set).
        trickle: seconds to wait between single bytes of the body, or ``None``.
        times: how many requests it answers before it is spent; ``None``: all.
    """

    operation: str
    job: str | None = None
    body: bytes | None = None
    mutate: Callable[[JSON], JSON | bytes] | None = None
    status: int = 200
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    trickle: float | None = None
    times: int | None = None
    used: int = 0

    def matches(self, operation: str, job: str | None) -> bool:
        """Return whether this rule answers *operation* for *job*, and is unspent."""
        if self.times is not None and self.used >= self.times:
            return False
        return self.operation == operation and self.job in {None, job}


class HostileServer:
    """A SageMaker JSON 1.1 endpoint that answers by rules, else from *upstream*."""

    def __init__(self, *, upstream: str | None = None, region: str = "us-east-1"):
        self.upstream = upstream
        self.region = region
        self.rules: list[Rule] = []
        self.requests: list[tuple[str, str | None]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.endpoint_url = ""

    def rule(self, operation: str, **kwargs: Any) -> Rule:
        """Add a rule (see ``Rule``) in front of those already there; return it."""
        new = Rule(operation=operation, **kwargs)
        self.rules.insert(0, new)
        return new

    def count(self, operation: str, job: str | None = None) -> int:
        """Return how many requests for *operation* (and *job*, if given) arrived."""
        return sum(
            1 for op, name in self.requests if op == operation and job in {None, name}
        )

    async def __aenter__(self) -> Self:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        host, port = sock.getsockname()[:2]
        self.endpoint_url = f"http://{host}:{port}"
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def environ(self) -> dict[str, str]:
        """Environment variables that point a default client at this server."""
        return {
            "AWS_ENDPOINT_URL_SAGEMAKER": self.endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": self.region,
        }

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[Any]:
        """Yield an aiobotocore SageMaker client for this server (one attempt)."""
        from aiobotocore.config import AioConfig  # noqa: PLC0415
        from aiobotocore.session import get_session  # noqa: PLC0415

        async with get_session().create_client(
            "sagemaker",
            region_name=self.region,
            endpoint_url=self.endpoint_url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106
            config=AioConfig(
                retries={"mode": "standard", "total_max_attempts": 1},
                read_timeout=5,
                connect_timeout=5,
            ),
        ) as client:
            yield client

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        target = request.headers.get("X-Amz-Target", "")
        operation = target.partition(".")[2]
        raw = await request.read()
        try:
            job = json.loads(raw or b"{}").get("TrainingJobName")
        except (ValueError, AttributeError):
            job = None
        self.requests.append((operation, job))
        rule = next((r for r in self.rules if r.matches(operation, job)), None)
        if rule is not None:
            rule.used += 1
        status, headers, body = 200, {"Content-Type": _CONTENT_TYPE}, b""
        if rule is None or rule.body is None:
            status, body = await self._upstream(request, raw)
        if rule is not None:
            if rule.body is not None:
                body = rule.body
            elif rule.mutate is not None:
                changed = rule.mutate(json.loads(body))
                body = (
                    changed
                    if isinstance(changed, bytes)
                    else json.dumps(changed).encode()
                )
            if rule.body is not None or rule.status != 200:
                status = rule.status
            headers.update(rule.headers)
        if rule is None or rule.trickle is None:
            return web.Response(status=status, body=body, headers=headers)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(body)
        await response.prepare(request)
        for i in range(len(body)):
            await response.write(body[i : i + 1])
            await asyncio.sleep(rule.trickle)
        return response

    async def _upstream(self, request: web.Request, raw: bytes) -> tuple[int, bytes]:
        if self.upstream is None or self._session is None:
            message = {"__type": "InternalFailure", "message": "no upstream"}
            return 500, json.dumps(message).encode()
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in {"x-amz-target", "content-type", "authorization"}
        }
        async with self._session.post(self.upstream, data=raw, headers=headers) as r:
            return r.status, await r.read()

"""Blob store fixtures: the S3 backend against a moto S3 server on loopback, and the local
backend behind its real HTTP routes served by uvicorn on loopback. Both are session-scoped;
tests use fresh keys, so they never see each other's objects."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aioboto3
import httpx
import pytest
import uvicorn
from moto.server import ThreadedMotoServer
from starlette.applications import Starlette

from storage.blobs import BlobStore
from storage.blobs.local import LocalBlobStore
from storage.blobs.s3 import S3BlobStore
from web.blob_routes import blob_routes

S3_BUCKET = "shutter-test-media"
S3_REGION = "us-east-1"
LOCAL_SIGNING_KEY = b"test-upload-signing-key"
LOCAL_MAX_UPLOAD_BYTES = 32 * 1024 * 1024


@dataclass
class BlobBackend:
    name: str
    store: BlobStore
    http: httpx.AsyncClient
    verifies_presigned_puts: bool
    """Whether the server behind the presigned URLs checks them (moto does not: it checks
    neither signature, expiry, Content-Type nor Content-Length of presigned requests)."""
    root: Path | None = None
    """The local backend's folder (None for S3)."""


def aws_session() -> aioboto3.Session:
    """Explicit dummy credentials, so nothing is read from the environment or ~/.aws."""
    return aioboto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=S3_REGION
    )


@pytest.fixture(scope="session")
async def blob_http() -> AsyncIterator[httpx.AsyncClient]:
    # trust_env=False: loopback servers only, never through a proxy from the environment.
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
async def s3_backend(
    moto_endpoint: str, blob_http: httpx.AsyncClient
) -> AsyncIterator[BlobBackend]:
    session = aws_session()
    async with session.client("s3", endpoint_url=moto_endpoint) as admin:
        await admin.create_bucket(Bucket=S3_BUCKET)
        # What production configures (or the CDN's origin access does): anyone may read media/*,
        # nothing else. moto enforces bucket policies for anonymous requests.
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{S3_BUCKET}/media/*",
                }
            ],
        }
        await admin.put_bucket_policy(Bucket=S3_BUCKET, Policy=json.dumps(policy))
    async with S3BlobStore(
        session,
        bucket=S3_BUCKET,
        endpoint_url=moto_endpoint,
        region=S3_REGION,
        public_base_url=None,
    ) as store:
        yield BlobBackend("s3", store, blob_http, verifies_presigned_puts=False)


@contextlib.asynccontextmanager
async def serve_on_loopback(app: Starlette, sock: socket.socket) -> AsyncIterator[None]:
    """Serve `app` with uvicorn on the bound socket `sock` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="off"))
    # Signals belong to pytest, not to the server under test.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
        if task.done():
            task.result()
    try:
        yield
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def any_upload_key(key: str) -> bool:
    """The store's own contract has no media: every signed key stays open until its URL expires
    (the app closes a media item's upload key at completeUpload: tests/workers)."""
    return True


def local_store(root: Path, base_url: str, *, clock_offset: float = 0) -> LocalBlobStore:
    return LocalBlobStore(
        root,
        signing_key=LOCAL_SIGNING_KEY,
        public_base_url=base_url,
        clock=lambda: time.time() + clock_offset,
    )


@pytest.fixture(scope="session")
async def local_backend(
    tmp_path_factory: pytest.TempPathFactory, blob_http: httpx.AsyncClient
) -> AsyncIterator[BlobBackend]:
    root = tmp_path_factory.mktemp("blobs")
    # Bind first: the store needs its public URL (with the port) before the app exists.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    store = local_store(root, base_url)
    app = Starlette(
        routes=blob_routes(
            store, max_upload_bytes=LOCAL_MAX_UPLOAD_BYTES, accepts_upload=any_upload_key
        )
    )
    async with serve_on_loopback(app, sock):
        yield BlobBackend("local", store, blob_http, verifies_presigned_puts=True, root=root)


@pytest.fixture(params=["local", "s3"])
def blob_backend(request: pytest.FixtureRequest) -> BlobBackend:
    backend: BlobBackend = request.getfixturevalue(f"{request.param}_backend")
    return backend

"""HTTP routes of the local blob backend: signed uploads and public media.

- ``PUT /uploads/{key}``: the target of `LocalBlobStore.presign_put` URLs (``key`` is the whole
  blob key, e.g. ``uploads/<media id>/original``). Refusals carry a JSON body
  ``{"error": "..."}``: 403 for a malformed, tampered or expired URL, 409 once the upload is
  closed (completeUpload took the file: ``accepts_upload`` says no), 400 for a Content-Type
  other than the signed one or a body shorter than the signed size, 413 for a body longer than
  the signed size (or a signed size above ``max_upload_bytes``), 503 when the disk fails.
  Nothing is stored on refusal.
- ``GET /downloads/{key}``: the target of `LocalBlobStore.presign_get` URLs (private files
  handed to their owner: data exports), as an attachment; 403 for a malformed, tampered or
  expired URL, 404 once the file is gone.
- ``GET /media/{path}``: serves the published object ``media/{path}`` (HEAD and byte ranges too)
  with its cache control, an ETag and a Content-Type from the extension; 404 for anything
  absent or outside ``media/``.

Production serves neither: clients PUT to S3 presigned URLs and fetch media from the CDN.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from storage.blobs import BlobNotFoundError, BlobStoreUnavailableError, InvalidBlobKeyError
from storage.blobs.local import (
    LocalBlobStore,
    UploadIncompleteError,
    UploadRefusedError,
    UploadSignatureError,
    UploadTooLargeError,
)


def _refusal(status_code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status_code)


UPLOAD_CLOSED = "this upload is closed: completeUpload has already taken the file"


def blob_routes(
    store: LocalBlobStore,
    *,
    max_upload_bytes: int,
    accepts_upload: Callable[[str], Awaitable[bool]],
) -> list[BaseRoute]:
    """The upload and media routes for `store`; uploads larger than `max_upload_bytes` are
    refused whatever their URL says, and so are uploads to a key for which `accepts_upload`
    answers False (a signed URL stays valid until it expires; this closes it earlier)."""

    async def put_upload(request: Request) -> Response:
        """Side effects: on success, replaces the object at the signed key."""
        try:
            grant = store.verify_upload(request.path_params["key"], request.query_params)
        except UploadSignatureError as error:
            return _refusal(403, error.reason)
        if not await accepts_upload(grant.key):
            return _refusal(409, UPLOAD_CLOSED)
        if grant.size > max_upload_bytes:
            return _refusal(413, f"uploads are limited to {max_upload_bytes} bytes")
        content_type = request.headers.get("content-type")
        if content_type != grant.content_type:
            return _refusal(400, f"Content-Type must be {grant.content_type!r}, as signed")
        declared = request.headers.get("content-length")
        if declared is not None and declared.isascii() and declared.isdigit():
            # Refuse before reading a byte when the client says up front it will not fit.
            if int(declared) > grant.size:
                return _refusal(413, f"body exceeds the signed size of {grant.size} bytes")
            if int(declared) < grant.size:
                return _refusal(400, f"body must be exactly {grant.size} bytes, as signed")
        try:
            etag = await store.receive_upload(grant, request.stream())
        except UploadTooLargeError as error:
            return _refusal(413, error.reason)
        except UploadIncompleteError as error:
            return _refusal(400, error.reason)
        except UploadRefusedError as error:
            return _refusal(400, error.reason)
        except InvalidBlobKeyError:
            return _refusal(400, "invalid upload key")
        except BlobStoreUnavailableError:
            return _refusal(503, "storage is unavailable, retry later")
        return Response(status_code=200, headers={"ETag": etag})

    async def get_media(request: Request) -> Response:
        public = await store.open_public("media/" + request.path_params["path"])
        if public is None:
            return _refusal(404, "not found")
        headers = {"Cache-Control": public.cache_control, "X-Content-Type-Options": "nosniff"}
        if public.etag is not None:
            headers["ETag"] = public.etag
            if public.etag in _etags(request.headers.get("if-none-match", "")):
                return Response(status_code=304, headers=headers)
        return FileResponse(
            public.path, headers=headers, media_type=public.content_type, stat_result=public.stat
        )

    async def get_download(request: Request) -> Response:
        try:
            path, filename = store.verify_download(request.path_params["key"], request.query_params)
        except UploadSignatureError as error:
            return _refusal(403, error.reason)
        except (BlobNotFoundError, InvalidBlobKeyError):
            return _refusal(404, "not found")
        return FileResponse(
            path,
            filename=filename,
            media_type="application/zip",
            headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
        )

    return [
        Route("/uploads/{key:path}", put_upload, methods=["PUT"]),
        Route("/downloads/{key:path}", get_download, methods=["GET"]),
        Route("/media/{path:path}", get_media, methods=["GET", "HEAD"]),
    ]


def _etags(header: str) -> list[str]:
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]

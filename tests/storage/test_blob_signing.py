"""storage.blobs.signing (pure upload-URL signatures) and the key rules of storage.blobs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from storage.blobs import InvalidBlobKeyError, validate_key, validate_public_key
from storage.blobs.signing import (
    BAD_SIGNATURE,
    EXPIRED,
    MALFORMED,
    UploadGrant,
    derive_signing_key,
    grant_from_query,
    sign_upload,
    upload_query,
    verify_upload,
)

KEY = b"signing-key"
GRANT = UploadGrant(key="uploads/7/original", content_type="image/jpeg", size=1234, expires=1000)


def test_a_signed_query_verifies_until_it_expires() -> None:
    query = upload_query(KEY, GRANT)

    assert query["expires"] == "1000"
    assert query["size"] == "1234"
    assert query["type"] == "image/jpeg"
    assert verify_upload(KEY, GRANT.key, query, now=0) is None
    assert verify_upload(KEY, GRANT.key, query, now=1000) is None
    assert verify_upload(KEY, GRANT.key, query, now=1000.001) == EXPIRED
    assert grant_from_query(GRANT.key, query) == GRANT


@pytest.mark.parametrize(
    ("parameter", "value"),
    [("expires", "999999"), ("size", "1235"), ("type", "image/png"), ("sig", "f" * 64)],
)
def test_changing_any_parameter_breaks_the_signature(parameter: str, value: str) -> None:
    query = {**upload_query(KEY, GRANT), parameter: value}

    assert verify_upload(KEY, GRANT.key, query, now=0) == BAD_SIGNATURE


def test_the_signature_binds_key_method_and_signing_key() -> None:
    query = upload_query(KEY, GRANT)

    assert verify_upload(KEY, "uploads/8/original", query, now=0) == BAD_SIGNATURE
    assert verify_upload(KEY, GRANT.key, query, now=0, method="POST") == BAD_SIGNATURE
    assert verify_upload(b"other-key", GRANT.key, query, now=0) == BAD_SIGNATURE


def test_an_expired_url_with_a_bad_signature_reports_the_signature() -> None:
    query = {**upload_query(KEY, GRANT), "sig": "0" * 64}

    assert verify_upload(KEY, GRANT.key, query, now=10**9) == BAD_SIGNATURE


def test_fields_cannot_bleed_into_each_other() -> None:
    # With a naive "key|type" message these two grants would share a signature.
    one = replace(GRANT, key="uploads/1|image/png", content_type="x")
    other = replace(GRANT, key="uploads/1", content_type="image/png|x")

    assert sign_upload(KEY, one) != sign_upload(KEY, other)


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"expires": "1000", "size": "1234", "type": "image/jpeg"},
        {"expires": "1000", "size": "1234", "type": "image/jpeg", "sig": "abc"},
        {"expires": "1000", "size": "1234", "type": "image/jpeg", "sig": "G" * 64},
        {"expires": "1000", "size": "-1", "type": "image/jpeg", "sig": "0" * 64},
        {"expires": "1e3", "size": "1234", "type": "image/jpeg", "sig": "0" * 64},
        {"expires": "1000", "size": "1234", "type": "", "sig": "0" * 64},
        {"expires": "1000", "size": "9" * 30, "type": "image/jpeg", "sig": "0" * 64},
        {"expires": "１０００", "size": "1234", "type": "image/jpeg", "sig": "0" * 64},
    ],
)
def test_malformed_queries_are_refused(query: dict[str, str]) -> None:
    assert verify_upload(KEY, GRANT.key, query, now=0) == MALFORMED


def test_derived_signing_key() -> None:
    derived = derive_signing_key("application-secret")

    assert derived == derive_signing_key(b"application-secret")
    assert derived != derive_signing_key("another-secret")
    assert len(derived) == 32
    assert b"application-secret" not in derived


@pytest.mark.parametrize(
    "key", ["uploads/7/original", "media/7/1080.jpg", "media/7/video.mp4", "a", "media/é.jpg"]
)
def test_safe_keys(key: str) -> None:
    assert validate_key(key) == key


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "..",
        "../x",
        "media/../../x",
        "media/./x",
        "./media/x",
        "media//x",
        "media/x/",
        "media\\x",
        "media/\x00",
        "media/\x7f",
        "media/.hidden",
        ".tmp/x",
        "media/\ud800",
        "m" * 1025,
    ],
)
def test_unsafe_keys(key: str) -> None:
    with pytest.raises(InvalidBlobKeyError):
        validate_key(key)


def test_only_media_keys_are_public() -> None:
    assert validate_public_key("media/7/1080.jpg") == "media/7/1080.jpg"
    for key in ("uploads/7/original", "mediax/1.jpg", "media", "media/../uploads/7/original"):
        with pytest.raises(InvalidBlobKeyError):
            validate_public_key(key)

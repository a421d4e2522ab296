"""What a session keeps of its client: a device name and a truncated address; and the sealing
of TOTP secrets (services.totp)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services import totp
from services.session_clients import DEVICE_MAX_LENGTH, approximate_network, describe_device


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("2001:db8:1234:5678:9abc::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),  # IPv4-mapped: an IPv4 client
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_only_the_network_of_the_address_is_kept(address: str | None, network: str | None) -> None:
    found = approximate_network(address)
    assert (str(found) if found else None) == network


def test_devices_are_named_and_odd_headers_cleaned() -> None:
    assert describe_device(None) is None
    assert describe_device("   ") is None
    assert describe_device("okhttp/4.12.0") == "okhttp 4"  # known to the rules
    assert describe_device("ShutterProbe/1.2 extra words") == "ShutterProbe/1.2"
    odd = describe_device("\x1b[31mred\x00" + "x" * 600)
    assert odd is not None
    assert odd.isprintable()
    assert len(odd) <= DEVICE_MAX_LENGTH


def test_a_sealed_secret_opens_only_for_its_user_and_key() -> None:
    config = totp.TwoFactorConfig.from_secret_key("k" * 40, challenge_ttl=timedelta(minutes=5))
    other_key = totp.TwoFactorConfig.from_secret_key("j" * 40, challenge_ttl=timedelta(minutes=5))
    secret = totp.new_secret()
    sealed = totp.seal(config, 7, secret)
    assert secret.encode() not in sealed
    assert totp.unseal(config, 7, sealed) == secret
    with pytest.raises(totp.UnreadableSecretError):
        totp.unseal(config, 8, sealed)  # copied to another account's row
    with pytest.raises(totp.UnreadableSecretError):
        totp.unseal(other_key, 7, sealed)  # SECRET_KEY changed


def test_backup_codes_are_80_bits_and_their_digest_ignores_spelling() -> None:
    codes = totp.new_backup_codes()
    assert len(set(codes)) == totp.BACKUP_CODE_COUNT
    assert all(len(code.replace("-", "")) == totp.BACKUP_CODE_LENGTH for code in codes)
    code = codes[0]
    assert totp.backup_code_digest(code.upper().replace("-", " ")) == totp.backup_code_digest(code)

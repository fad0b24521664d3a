import pytest

from ato.enrich.useragent import parse_user_agent
from ato.privacy import hmac_pads, ip_prefix, normalize_ip, pseudonymize

pytestmark = pytest.mark.unit


def test_hmac_matches_rfc4231_vector() -> None:
    # RFC 4231 test case 2
    assert pseudonymize(b"Jefe", "what do ya want for nothing?", 64) == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


def test_hmac_is_keyed_and_truncated() -> None:
    a, b = pseudonymize(b"k1", "1.2.3.4"), pseudonymize(b"k2", "1.2.3.4")
    assert a != b and len(a or "") == 32
    assert pseudonymize(b"k1", None) is None


def test_pads_are_block_sized() -> None:
    ipad, opad = hmac_pads(b"x" * 100)  # long keys are hashed first
    assert len(ipad) == len(opad) == 64


@pytest.mark.parametrize(("given", "normal", "network"), [
    ("203.0.113.7", "203.0.113.7", "203.0.113.0/24"),
    (" 203.0.113.7\n", "203.0.113.7", "203.0.113.0/24"),
    ("203.000.113.007", "203.0.113.7", "203.0.113.0/24"),     # leading zeros, read as decimal
    ("::ffff:203.0.113.7", "203.0.113.7", "203.0.113.0/24"),  # IPv4-mapped IPv6
    ("::FFFF:cb00:7107", "203.0.113.7", "203.0.113.0/24"),    # the same, in hex
    ("2001:DB8:0:0:1:0:0:7", "2001:db8::1:0:0:7", "2001:db8::/64"),
    ("2001:0db8:0001:0002:0000:0000:0000:0007", "2001:db8:1:2::7", "2001:db8:1:2::/64"),
    ("[2001:db8:1:2::7]", "2001:db8:1:2::7", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::1", "fe80::/64"),                  # zone id dropped
    ("256.1.1.1", "256.1.1.1", None),                          # no address: kept (hashed), no network
    ("Not-An-IP", "not-an-ip", None),
    ("", None, None),
    (None, None, None),
])
def test_ip_normalization_and_network(given: str | None, normal: str | None, network: str | None) -> None:
    assert normalize_ip(given) == normal
    assert ip_prefix(normal) == network


def test_spellings_of_one_address_share_one_hash() -> None:
    spellings = ["10.1.2.3", "010.001.002.003", "::ffff:10.1.2.3", "::ffff:a01:203", " 10.1.2.3"]
    assert len({pseudonymize(b"k" * 32, normalize_ip(s)) for s in spellings}) == 1
    six = ["2001:db8::7", "2001:0DB8:0:0:0:0:0:7", "[2001:db8::7]", "2001:db8::7%2"]
    assert len({pseudonymize(b"k" * 32, normalize_ip(s)) for s in six}) == 1
    # the /64 groups one subscriber's addresses and no one else's
    assert ip_prefix(normalize_ip("2001:db8:1:2::7")) == ip_prefix(normalize_ip("2001:db8:1:2:ffff::1"))
    assert ip_prefix(normalize_ip("2001:db8:1:2::7")) != ip_prefix(normalize_ip("2001:db8:1:3::7"))


@pytest.mark.parametrize(
    ("ua", "family", "major", "os", "cls", "auto"),
    [
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.6613.120 Safari/537.36", "chrome", 128, "windows", "desktop", False),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "safari", 17, "ios", "mobile", False),
        ("Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0", "firefox", 129, "linux", "desktop", False),
        ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.2739.42", "edge", 128, "windows", "desktop", False),
        ("PayApp/5.12.3 (iOS 17.5; iPhone15,2)", "app", 5, "ios", "app", False),
        ("python-requests/2.31.0", "script", 2, "other", "bot", True),
        ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36", "headless", 120, "linux", "bot", True),
        ("", "other", None, "other", "bot", True),
    ],
)
def test_user_agent(ua: str, family: str, major: int | None, os: str, cls: str, auto: bool) -> None:
    p = parse_user_agent(ua)
    assert (p.family, p.major, p.os, p.device_class, p.is_automation) == (family, major, os, cls, auto)


def test_minor_version_does_not_change_parse() -> None:
    a = parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.6613.120 Safari/537.36")
    b = parse_user_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.6613.137 Safari/537.36")
    assert a == b

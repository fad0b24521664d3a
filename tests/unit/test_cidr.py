import numpy as np
import pandas as pd
import pytest

from ato.enrich.cidr import CidrIndex, ipv4_to_int, parse_cidrs

pytestmark = pytest.mark.unit


def test_ipv4_to_int() -> None:
    got = ipv4_to_int(pd.Series(["1.2.3.4", "255.255.255.255", "256.1.1.1", "2001:db8::1", None, "1.2.3"]))
    assert got.tolist() == [16909060, 4294967295, -1, -1, -1, -1]


def test_parse_cidrs_normalises_host_bits() -> None:
    base, plen = parse_cidrs(pd.Series(["20.5.7.9/24", "10.0.0.0/8", "10.0.0.0/40", "x/8"]))
    assert plen.tolist()[:2] == [24, 8]
    assert base.tolist() == [ipv4_to_int(pd.Series(["20.5.7.0"]))[0], 167772160, -1, -1]


def test_longest_prefix_wins() -> None:
    idx = CidrIndex.build(pd.Series(["20.5.0.0/16", "20.5.7.0/24", "20.5.7.9/32"]))
    ips = ipv4_to_int(pd.Series(["20.5.7.9", "20.5.7.10", "20.5.8.1", "20.6.0.1", None]))
    assert idx.lookup(ips).tolist() == [2, 1, 0, -1, -1]


def test_point_in_time_takes_latest_known() -> None:
    nets = pd.Series(["20.5.7.0/24", "20.5.7.0/24", "20.5.0.0/16"])
    as_of = np.array([1000, 2000, 500])
    idx = CidrIndex.build(nets, as_of)
    ip = ipv4_to_int(pd.Series(["20.5.7.1"] * 4))
    assert idx.lookup(ip, np.array([400, 700, 1500, 2500])).tolist() == [-1, 2, 0, 1]


def test_empty_reference() -> None:
    idx = CidrIndex.build(pd.Series([], dtype="string"))
    assert idx.lookup(ipv4_to_int(pd.Series(["1.2.3.4"]))).tolist() == [-1]

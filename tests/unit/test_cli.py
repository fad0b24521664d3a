from pathlib import Path

import pytest

from ato.cli import main

pytestmark = pytest.mark.unit


def test_simulate_refuses_to_mix_worlds(tmp_path: Path) -> None:
    out, world = tmp_path / "spool", tmp_path / "world"
    args = ["simulate", "--accounts", "30", "--days", "1", "--out", str(out), "--world", str(world)]
    assert main(args) == 0
    first = sorted(p.name for p in (out / "logins").iterdir())
    assert main(args) == 2  # not empty: refused, nothing touched
    assert sorted(p.name for p in (out / "logins").iterdir()) == first
    assert main([*args, "--days", "2", "--overwrite"]) == 0
    assert len(list((out / "logins").iterdir())) == 2

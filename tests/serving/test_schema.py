"""schemathesis (its own CLI, as a CI job would run it) against the running API's OpenAPI schema:
generated requests, valid and invalid, for every operation; none may get a server error (5xx)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.builders import API_KEY
from tests.serving.conftest import Api

pytestmark = [pytest.mark.serving, pytest.mark.spark]


def test_no_generated_request_gets_a_server_error(api: Api, tmp_path: Path) -> None:
    st = Path(sys.executable).parent / "st"
    out = subprocess.run(
        [str(st), "run", f"{api.url}/openapi.json", "--checks", "not_a_server_error", "-H", f"X-API-Key: {API_KEY}",
         "--max-examples", "60", "--seed", "20261123", "--report", "junit",
         "--report-junit-path", str(tmp_path / "junit.xml")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path)
    tail = out.stdout[-3000:] + out.stderr[-1000:]
    assert out.returncode == 0, tail
    m = re.search(r"(\d+) generated, (\d+) passed", out.stdout)
    assert m and int(m.group(1)) == int(m.group(2)) > 100, tail
    print(f"schemathesis: {m.group(1)} generated requests, none got a server error")

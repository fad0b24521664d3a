"""notebooks/analyst-tour.ipynb runs top to bottom on the small world's analyst lake (a real
Jupyter kernel through nbclient), and the committed file carries no outputs."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from ato.settings import Settings
from tests.conftest import TEST_KEY

pytestmark = pytest.mark.spark
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "analyst-tour.ipynb"


def test_the_committed_notebook_has_no_outputs() -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


def test_the_notebook_runs_top_to_bottom(analyst: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    monkeypatch.setenv("ATO_LAKE_ROOT", analyst.paths.lake_root)
    monkeypatch.setenv("ATO_HMAC_KEY", TEST_KEY)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws the plot into the output
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert len(html) >= 6 and all("<table" in h for h in html)  # the views and three queries as tables
    assert "lake: " + analyst.paths.lake_root in "".join(o.get("text", "") for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 1  # the heat map

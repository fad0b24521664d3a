"""Order-independent digests of table contents, for tests that check what a step left unchanged:
the rows as a multiset (pandas hashes each row, the row hashes are sorted). Nested cells are
compared as their text, lists in their order, unless a column is named among `sets`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


def _list_text(v: Any, as_set: bool = False) -> str:
    """A list cell as JSON text, its order kept (or sorted, `as_set`)."""
    if v is None:
        return "null"
    items = [str(x) for x in v]
    return json.dumps(sorted(items) if as_set else items)


def frame_digest(df: pd.DataFrame, schema: pa.Schema, sets: Collection[str] = ()) -> tuple[int, str]:
    """Rows and digest of `df`, read from a table of `schema` (its nested columns as delta-rs and
    pyarrow hand them to pandas: lists as arrays, maps as lists of pairs, structs as dicts); the
    list columns in `sets` are compared as sets."""
    import pandas as pd
    import pyarrow as pa

    df = df[sorted(df.columns)].copy()
    for f in schema:
        if f.name in df and pa.types.is_nested(f.type):
            text = partial(_list_text, as_set=True) if f.name in sets else _list_text if pa.types.is_list(f.type) else str
            df[f.name] = df[f.name].map(text)
    rows = pd.util.hash_pandas_object(df, index=False).to_numpy()  # one 64-bit hash per row
    rows.sort()
    return len(rows), hashlib.sha256(rows.tobytes()).hexdigest()


def table_digest(tbl: pa.Table) -> tuple[int, str]:
    return frame_digest(tbl.to_pandas(), tbl.schema)

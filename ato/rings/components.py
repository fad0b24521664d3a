"""Connected components of the kept links: every account gets the smallest account id it is
connected to, by iterative min-label propagation (what the Spark step runs in SQL) or by scipy (the
reference the tests cross-check against)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def min_label_components(edges: pd.DataFrame, max_rounds: int = 200) -> pd.Series:
    """account_id -> component label (its smallest member), for every account in `edges` (a, b).

    Each round every account takes the smallest label among itself and its neighbours, then
    follows its label's own label (pointer jumping), until nothing changes."""
    both = pd.concat([edges[["a", "b"]], edges[["b", "a"]].set_axis(["a", "b"], axis=1)], ignore_index=True)
    nodes = pd.unique(both["a"])
    label = pd.Series(nodes, index=nodes)
    for _ in range(max_rounds):
        nb = both.assign(lb=label.reindex(both["b"]).to_numpy()).groupby("a")["lb"].min()
        new = np.minimum(label, nb.reindex(label.index).to_numpy())
        new = pd.Series(np.minimum(new.to_numpy(), new.reindex(new.to_numpy()).to_numpy()), index=new.index)
        if new.equals(label):
            return label
        label = new
    raise RuntimeError(f"components did not converge in {max_rounds} rounds")


def scipy_components(edges: pd.DataFrame) -> pd.Series:
    """The same labels by `scipy.sparse.csgraph.connected_components` (the reference)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    nodes = np.sort(pd.unique(pd.concat([edges["a"], edges["b"]])))
    pos = pd.Series(np.arange(len(nodes)), index=nodes)
    ia, ib = pos.reindex(edges["a"]).to_numpy(), pos.reindex(edges["b"]).to_numpy()
    graph = coo_matrix((np.ones(len(ia)), (ia, ib)), shape=(len(nodes), len(nodes)))
    _, comp = connected_components(graph, directed=False)
    first = pd.Series(nodes).groupby(comp).min()  # nodes are sorted: the min is the first seen
    return pd.Series(first.reindex(comp).to_numpy(), index=nodes)


def rings_of(labels: pd.Series, min_size: int) -> pd.Series:
    """account_id -> ring (its component label) for components of at least `min_size` accounts."""
    size = labels.map(labels.value_counts())
    return labels[size >= min_size]


def rings_from_links(kept: pd.DataFrame, min_size: int) -> pd.Series:
    """account_id -> ring for the components of the kept links (a, b); none without links."""
    return rings_of(min_label_components(kept), min_size) if len(kept) else pd.Series(dtype=object)

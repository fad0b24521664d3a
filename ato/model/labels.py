"""How the model treats delayed and noisy labels (see README "Labels").

- Delayed: the training set only holds logins whose labels matured
  (`batch.label_maturity_days`); `ato train --date D` trains on logins up to D minus that.
- Source weighting: each row's `label_weight` comes from conf `labels.weights`.
- Account-window labels (a takeover report naming the account and when the attack started,
  not the login) cover the owner's own logins in that span too. Like an analyst rebuilding
  the case, only logins from a device, network (ASN) or country new to the account count as
  the attacker's (a hijacked session keeps the victim's device but not their network); the
  others in the window are ambiguous and get weight 0 (neither positive nor negative).
- Never-reported takeovers stay `unreported` negatives: noise the model has to live with,
  which is why evaluation uses ground truth when the simulator provides it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# An account-window label (every login from the reported attack start to the report) on a login at
# none of these new places is the owner's own login as likely as the attacker's: ambiguous, weight 0
# in training, left out of evaluation and of monitoring's precision and recall.
NOVELTY_FEATURES = ("new_device", "new_asn", "new_country")


def training_targets(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(label, weight) arrays for fitting, with the account-window rule applied."""
    y = df["label"].to_numpy().astype(np.int64)
    w = df["label_weight"].to_numpy().astype(np.float64).copy()
    window = (df["label_source"] == "account_window").to_numpy()
    novel = np.logical_or.reduce([(df[f] == 1).to_numpy() for f in NOVELTY_FEATURES])
    w[window & ~novel] = 0.0
    return y, w

"""Settings section `rings` of `ato.settings.Settings` (kept here, beside what it configures)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ato.conf_section import Section


class RingsConf(Section):
    """Fraud rings (README "Fraud rings"): blocking caps, training pairs, threshold choice."""


    caps: dict[str, int] = Field(
        default_factory=lambda: {"name_token": 20, "address_key": 20, "email_domain": 60},
        description="Candidate pairs: a value held by more accounts than its kind's cap makes no pairs "
                    "(carrier NAT, popular merchants, free-mail domains, common surnames); kinds not named take default_cap.")
    default_cap: int = Field(50, ge=2, description="Cap of the kinds `caps` does not name (rings reach 40 accounts).")
    unlabelled_per_positive: float = Field(20, ge=0, description="Pair model: unlabelled pairs drawn as training "
                                                                 "negatives per positive (households, offices).")
    threshold_beta: float = Field(0.5, gt=0, description="Pair threshold: the one whose rings best match the "
                                                         "held-out known cases by B-cubed F-beta; beta < 1 weighs "
                                                         "precision more (an innocent account in a ring costs more "
                                                         "than a member left out).")
    max_share_in_rings: float = Field(0.05, gt=0, le=1, description="Analysts' capacity: the threshold is chosen "
                                      "among those that put at most this share of all accounts in rings (the held-out "
                                      "cases cannot see a household that forms a ring of its own; the demo world's true "
                                      "ring members are 4 % of its accounts).")
    min_cases: int = Field(10, ge=2, description="The nightly step finds rings once this many investigated cases "
                                                 "exist (fewer: it says so and writes no rings). With 4, the demo "
                                                 "world's first ring night chose its threshold on one held-out case "
                                                 "and put 1,903 accounts, mostly legitimate, in 405 rings.")
    window_days: int = Field(30, ge=1, description="Nightly step: days of logins and payments whose devices, IPs "
                                                   "and payees link accounts.")
    backfill_every_days: int = Field(7, ge=1, description="A multi-night run (backfill) finds the rings of its "
                                                          "last night and of every this-many-th night before it; "
                                                          "snapshots in between take the latest ring night.")
    engine: Literal["pandas", "spark"] = Field("pandas", description=(
        "Where the nightly step builds candidate pairs and ring components: pandas on the driver, or Spark "
        "(`ato.spark.rings`, the same results). Both read the night's links from the driver and bring the "
        "pairs back to it for the pair model; pandas was faster at the demo's size (benchmarks/rings.py --spark)."))
    min_size: int = Field(3, ge=2, description="A component of at least this many accounts is a ring.")
    test_share: float = Field(0.2, ge=0, lt=1, description="Newest share of investigated cases held out as unseen "
                                                           "(with the never-investigated rings) for the evaluation.")
    val_share: float = Field(0.25, gt=0, lt=1, description="Newest share of the known cases the threshold is chosen "
                                                           "on; the older ones train the pair model.")

"""Fraud rings: accounts run by one party, found from what they share (README "Fraud rings").

text -> profile -> candidates -> features -> pair_model -> components -> evaluate; pipeline.py runs
them end to end on pandas frames, evidence.py says why two accounts are linked."""

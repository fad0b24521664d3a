"""A deterministic synthetic world of account holders and attackers (`ato simulate`)."""

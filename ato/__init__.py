"""ato-risk: account-takeover risk scoring (batch layer + real-time layer)."""

__version__ = "0.1.0"

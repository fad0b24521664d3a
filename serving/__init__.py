"""The real-time layer: a FastAPI app around `ato.online` (store, speed layer, decision chain)."""

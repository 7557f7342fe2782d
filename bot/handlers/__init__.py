"""Feature routers; each module exposes `router() -> Router` (a new one per call)."""

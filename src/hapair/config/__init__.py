"""Configuration parsers and models (pure: file access is injected by the caller)."""

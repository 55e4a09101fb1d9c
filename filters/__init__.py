"""Document filters: one module per family, each a frozen config dataclass plus a registered stage."""

"""Per-server drivers: each ``rows(h)`` returns the paths it drives, as
``{row name: fn(case, tokens) -> normalised output}``."""

"""A plugin whose import fails."""

raise RuntimeError("the vendor SDK is missing")

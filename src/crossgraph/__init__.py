"""crossgraph: what to offer each existing B2B account next, and why."""

__version__ = "0.1.0"

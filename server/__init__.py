"""gigmetrics: honest impression/click analytics for marketplace listings.

The pipeline, one module per step:

    collect.py  -> events.py -> ingest.py -> stores/ -> transitions.py (rollups)
    api/ (GraphQL) -> service.py -> windows.py + metrics.py -> stores/
"""

__version__ = "0.1.0"

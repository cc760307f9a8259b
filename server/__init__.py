"""gigmetrics: honest impression/click analytics for marketplace listings.

The pipeline, a package per stage (ARCHITECTURE.md draws it):

    model.py (shared types) <- edge/ (parse, screen, sign) , counting/ (pure rules)
    <- stores/ (sqlite/, mongo/) <- serving (collect.py, ingest.py, service.py, api/, cli/)
"""

__version__ = "0.1.0"

"""Execution engines other than the local process pool of ``corpus.runner``.

``corpus.engines.ray`` runs the same stages on a Ray cluster. Importing this package imports nothing
heavy: Ray is loaded only when a pipeline asks for ``engine="ray"``.
"""

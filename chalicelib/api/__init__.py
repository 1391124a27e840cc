"""The public read API (``/v1``): routes, parameter checks, queries, the one serialiser, OpenAPI and caching.

Only :mod:`chalicelib.api.routes` is imported at cold start; everything else loads inside the handlers.
"""

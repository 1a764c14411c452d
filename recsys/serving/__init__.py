"""Serving: what ``recsys evaluate`` built, answered per request (``recsys serve``)."""

from recsys.serving.service import Answer, Service, ServingError

__all__ = ["Answer", "Service", "ServingError"]

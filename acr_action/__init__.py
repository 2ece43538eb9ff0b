"""Build an image, push it to Azure Container Registry and run it on Azure Container Instances."""

from __future__ import annotations

__version__ = "0.1.0"

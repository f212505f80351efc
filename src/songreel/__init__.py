"""songreel: a song and a story in, a finished beat-synced music video out.

``import songreel`` stays light: stages and heavy extras (torch, diffusers, gradio, ray) are imported
on first use.
"""

from .errors import SongreelError

__version__ = "0.1.0"

__all__ = ["SongreelError", "__version__"]

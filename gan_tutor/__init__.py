"""gan_tutor: the helper package of the gan-tutor notebook course on image generation.

Each taught concept has its own module (``gan_math``, ``gan``, ...); infrastructure is written once
(``data``, ``train``, ``checkpoint``, ``viz``, ``checks``). Importing the package has no side effects.
"""

__version__ = "0.4.0"

from gan_tutor.env import env_check  # noqa: E402  (light: imports torch lazily inside)

__all__ = ["__version__", "env_check"]

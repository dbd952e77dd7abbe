"""Ossian: a local-first desktop app for OpenAI's open-weight gpt-oss models.

The package is split into rooms (see docs/architecture.md); this top module only names the version.
"""

__version__ = "0.1.0"
APP_NAME = "Ossian"

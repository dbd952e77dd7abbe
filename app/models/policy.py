"""Whether a request the user started may go out, and to which Hub address.

Ossian sends nothing at start-up or while chatting; the only requests are downloads and Hub searches
the user starts, and each of them asks `network_policy()` first. "Never use the network" (the
`offline_only` setting) or `HF_HUB_OFFLINE` in the environment make those refuse too, with a message
that says how to turn it back on. The address is `HF_ENDPOINT` when set (a mirror, or a test server),
else the settings' `hf_endpoint`, else huggingface.co.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from app.models.errors import NetworkDisabled
from app.settings import Settings

DEFAULT_ENDPOINT = "https://huggingface.co"
_TRUE_WORDS = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class NetworkPolicy:
    """The answer for one request: allowed or not (and why), and the Hub address to use."""

    allowed: bool
    endpoint: str
    endpoint_source: str
    refusal: str = ""

    def require(self, action: str = "reach the Hugging Face Hub") -> None:
        """Raise `NetworkDisabled` (nothing sent) when the network is off."""
        if not self.allowed:
            raise NetworkDisabled(f"Cannot {action}: {self.refusal}")


def network_policy(settings: Settings, environ: Mapping[str, str] | None = None) -> NetworkPolicy:
    env = os.environ if environ is None else environ
    endpoint_env = (env.get("HF_ENDPOINT") or "").strip()
    if endpoint_env:
        endpoint, source = endpoint_env, "HF_ENDPOINT environment variable"
    elif settings.hf_endpoint:
        endpoint, source = settings.hf_endpoint.strip(), "settings"
    else:
        endpoint, source = DEFAULT_ENDPOINT, "default"
    endpoint = endpoint.rstrip("/")
    if settings.offline_only:
        return NetworkPolicy(False, endpoint, source,
                             "Ossian is set to never use the network. Turn off 'Never use the network' "
                             "in Settings to download models or search the Hub.")
    if env.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE_WORDS:
        return NetworkPolicy(False, endpoint, source,
                             "HF_HUB_OFFLINE is set in the environment, which switches the Hub off. "
                             "Unset it to download models or search the Hub.")
    if not endpoint.startswith(("https://", "http://")):
        return NetworkPolicy(False, endpoint, source,
                             f"the Hub address '{endpoint}' ({source}) is not an http(s) address. "
                             "Fix it, e.g. https://huggingface.co.")
    return NetworkPolicy(True, endpoint, source)

"""How a request the user started reaches the Hub: the network policy, read anew each time, and the token.

The UI and the CLI each hold one `HubAccess`. Asking it for a client checks the policy first, so a
"never use the network" switch flipped a second ago already applies, and only then loads
huggingface_hub (which is why listing models or starting the app never imports it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.models.errors import ModelsError
from app.models.policy import NetworkPolicy, network_policy
from app.models.tokens import TokenStore
from app.paths import app_paths
from app.settings import Settings, load_settings

if TYPE_CHECKING:
    from app.models.hub import HubClient, HubSearchResult


def settings_from_disk() -> Settings:
    return load_settings(app_paths().settings_file)


@dataclass
class HubAccess:
    """The settings to read the policy from (called for every request) and where the token comes from."""

    settings: Callable[[], Settings] = settings_from_disk
    tokens: TokenStore = field(default_factory=TokenStore)
    timeout: float = 20.0

    def policy(self) -> NetworkPolicy:
        return network_policy(self.settings())

    def connect(self, action: str = "reach the Hugging Face Hub") -> HubClient:
        """A client for one request; raises `NetworkDisabled` (nothing sent) when the network is off."""
        policy = self.policy()
        policy.require(action)
        from app.models.hub import HubClient

        return HubClient(policy.endpoint, self.tokens.get(), timeout=self.timeout)

    def search(self, query: str, limit: int = 20) -> list[HubSearchResult]:
        query = query.strip()
        if not query:
            raise ModelsError("Type something to search for, e.g. gpt-oss.")
        return self.connect("search the Hub").search(query, limit)

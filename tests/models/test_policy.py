import pytest

from app.models import NetworkDisabled, network_policy
from app.models.policy import DEFAULT_ENDPOINT
from app.settings import Settings


def test_the_endpoint_comes_from_hf_endpoint_then_settings_then_the_default() -> None:
    assert network_policy(Settings(), {}).endpoint == DEFAULT_ENDPOINT
    from_settings = network_policy(Settings(hf_endpoint="https://mirror.example/"), {})
    assert (from_settings.endpoint, from_settings.endpoint_source) == ("https://mirror.example", "settings")
    from_env = network_policy(Settings(hf_endpoint="https://mirror.example"), {"HF_ENDPOINT": "http://127.0.0.1:9"})
    assert from_env.endpoint == "http://127.0.0.1:9" and "HF_ENDPOINT" in from_env.endpoint_source
    assert from_env.allowed


def test_never_use_the_network_refuses_with_how_to_turn_it_back_on() -> None:
    policy = network_policy(Settings(offline_only=True), {})
    assert not policy.allowed
    with pytest.raises(NetworkDisabled, match=r"^Cannot download models: .*'Never use the network'"):
        policy.require("download models")


@pytest.mark.parametrize("value", ["1", "true", "YES", "on"])
def test_hf_hub_offline_refuses(value: str) -> None:
    with pytest.raises(NetworkDisabled, match="HF_HUB_OFFLINE"):
        network_policy(Settings(), {"HF_HUB_OFFLINE": value}).require()


def test_an_address_that_is_not_http_is_refused() -> None:
    with pytest.raises(NetworkDisabled, match="not an http"):
        network_policy(Settings(hf_endpoint="ftp://example.org"), {}).require()

"""The task_tracker tests' gateway also serves the façade at the root of a port of its own."""

import msgspec
import pytest

from conveyor_devstack import free_port
from conveyor_gateway.settings import Settings as GatewaySettings


@pytest.fixture
def gateway_settings(gateway_settings: GatewaySettings) -> GatewaySettings:
    return msgspec.structs.replace(gateway_settings, compat_ports=f"task_tracker={free_port()}")

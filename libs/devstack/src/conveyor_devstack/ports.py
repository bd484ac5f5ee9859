"""TCP ports and addresses: finding free ports and explaining taken ones."""

import ipaddress
import socket

from .errors import DevstackError

__all__ = ["PortInUseError", "connect_host", "ensure_port_free", "free_port", "is_port_free", "url_host"]


class PortInUseError(DevstackError):
    """A port that a server needs is already taken by another process.

    Attributes:
        port: The taken port.
        host: The address the server wanted to listen on.
        wanted_by: What needed the port (for example ``"the API gateway"``).
        setting: The flag or variable that changes the port, if there is one.
    """

    def __init__(
        self,
        port: int,
        *,
        host: str = "127.0.0.1",
        wanted_by: str = "a server",
        setting: str | None = None,
        message: str | None = None,
    ) -> None:
        """Build the error; ``message`` replaces the generated one-line explanation.

        Args:
            port: The taken port.
            host: The address the server wanted to listen on.
            wanted_by: What needed the port.
            setting: The flag or variable that changes the port.
            message: A complete message, when the caller has a better one.
        """
        self.port = port
        self.host = host
        self.wanted_by = wanted_by
        self.setting = setting
        if message is None:
            message = f"port {port} on {host} (wanted by {wanted_by}) is already in use"
            if setting:
                message += f"; choose another with {setting}"
        super().__init__(message)


def _family(host: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:  # a host name such as "localhost"
        return socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][0]


def free_port(host: str = "127.0.0.1") -> int:
    """Ask the kernel for a currently unused TCP port on ``host``.

    The port is only free at the moment of the call; prefer letting the server pick its own
    port when it can, and retry on a clash when it cannot.

    Args:
        host: The address the port will be bound on.

    Returns:
        A port number.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_port_free(host: str, port: int) -> bool:
    """Tell whether a server could listen on ``host:port`` right now.

    SO_REUSEADDR is set like servers do, so a port in TIME_WAIT counts as free while a port
    with a listener (on this address or on a wildcard address) does not.

    Args:
        host: The address to listen on.
        port: The port to check.

    Returns:
        True when binding succeeds.
    """
    with socket.socket(_family(host), socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def ensure_port_free(host: str, port: int, *, wanted_by: str, setting: str | None = None) -> None:
    """Raise `PortInUseError` when ``host:port`` is taken.

    Args:
        host: The address to listen on.
        port: The port to check.
        wanted_by: What needs the port, for the message.
        setting: The flag or variable that changes the port, for the message.

    Raises:
        PortInUseError: The port is taken.
    """
    if not is_port_free(host, port):
        raise PortInUseError(port, host=host, wanted_by=wanted_by, setting=setting)


def connect_host(bind_host: str) -> str:
    """Return the address a local client should dial to reach a server bound on ``bind_host``.

    Args:
        bind_host: The listen address; wildcards become the matching loopback address.

    Returns:
        A connectable host.
    """
    if bind_host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if bind_host == "::":
        return "::1"
    return bind_host


def url_host(bind_host: str) -> str:
    """Return the host part for a URL to a server bound on ``bind_host`` (IPv6 in brackets).

    Args:
        bind_host: The listen address.

    Returns:
        The host, ready to put between ``scheme://`` and ``:port``.
    """
    host = connect_host(bind_host)
    return f"[{host}]" if ":" in host else host

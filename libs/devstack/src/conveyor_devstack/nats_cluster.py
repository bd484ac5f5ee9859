"""Three (or more) ``nats-server`` processes on loopback, joined by cluster routes.

JetStream replicates across them, so streams and buckets may be created at R3; killing one node
leaves a quorum of two. Each node keeps its own store directory and client port across restarts.
"""

from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

from .nats import NatsServer
from .nats_config import ClusterRoutes, NatsUser
from .ports import free_port, url_host

__all__ = ["NatsCluster"]


class NatsCluster:
    """``size`` JetStream nodes named ``<name>-0`` … under ``root``, each routed to all the others.

    Clients are given `urls` (every node, comma separated) and reconnect to a live node when theirs
    dies. `kill` and `start` take a node's index; a killed node restarts on its own store and ports.

    Example:
        >>> with NatsCluster(tmp_path / "nats") as cluster:
        ...     connect(cluster.urls)
    """

    def __init__(
        self,
        root: Path,
        *,
        size: int = 3,
        host: str = "127.0.0.1",
        name: str = "conveyor",
        users: Sequence[NatsUser] = (),
        sync_interval: str | None = None,
    ) -> None:
        """Describe the nodes; nothing starts until `start`.

        Args:
            root: One store directory per node is made under it (``n0``, ``n1``, …).
            size: How many nodes (3 keeps a quorum with one down).
            host: The listen address of clients and routes.
            name: The cluster's name; node ``i`` is the server ``<name>-<i>``.
            users: When given, only these users may connect (the same on every node).
            sync_interval: JetStream's fsync policy on every node (see `NatsServer`).
        """
        route_ports = [free_port(host) for _ in range(size)]
        self.nodes = [
            NatsServer(
                root / f"n{index}",
                host=host,
                server_name=f"{name}-{index}",
                users=users,
                sync_interval=sync_interval,
                cluster=ClusterRoutes(
                    name=name,
                    listen=f"{url_host(host)}:{port}",
                    routes=tuple(f"nats-route://{url_host(host)}:{peer}" for peer in route_ports if peer != port),
                ),
            )
            for index, port in enumerate(route_ports)
        ]

    @property
    def urls(self) -> str:
        """Every node's client URL, comma separated (what ``CONVEYOR_NATS_URL`` takes)."""
        return ",".join(node.url for node in self.nodes)

    def index_of(self, server_name: str) -> int:
        """The index of the node called ``server_name`` (as JetStream names a stream's leader).

        Args:
            server_name: A node's server name.

        Returns:
            Its index in `nodes`.

        Raises:
            KeyError: No node has that name.
        """
        for index, node in enumerate(self.nodes):
            if node.server_name == server_name:
                return index
        raise KeyError(server_name)

    def start(self, index: int | None = None) -> None:
        """Start one node, or every node that is not running.

        Args:
            index: The node; all of them when omitted.
        """
        for node in self.nodes if index is None else [self.nodes[index]]:
            node.start()

    def kill(self, index: int) -> None:
        """SIGKILL one node, as a crash would; `start` with its index brings it back.

        Args:
            index: The node.
        """
        self.nodes[index].kill()

    def stop(self) -> None:
        """Stop every node (SIGTERM, then SIGKILL)."""
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Self:
        """Start every node and return the cluster."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop every node."""
        self.stop()

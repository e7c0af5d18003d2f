"""One emulated Bluetooth LE radio per asyncio event loop, on Bumble.

Bumble's :class:`~bumble.controller.Controller` objects need a running event loop
and stay tied to it, so :func:`get_radio` keeps exactly one :class:`VirtualRadio`
per loop (a weak mapping: the radio goes away with its loop). A radio is a
:class:`~bumble.link.LocalLink` (the "air"), one central adapter (a Bumble
:class:`~bumble.device.Device` on its own controller, used by the bleak backend in
:mod:`motiontrack.virtual.backend`) and any number of peripherals (virtual
sensors, :mod:`motiontrack.virtual.sensor`), each on its own controller.

Two things the emulator does not do by itself are done here:

* **Link loss.** A peripheral that vanishes never disconnects the central in the
  emulator (there is no supervision timeout). :meth:`VirtualRadio.drop_link`
  ends the link on both controllers with reason 0x08 (connection timeout),
  exactly what a real controller reports when the supervision timer expires.
* **A connect to an absent peer** leaves a pending LE connection in the central
  controller forever. :meth:`VirtualRadio.connect` enforces the timeout and
  clears the pending connection.

Performance: Bumble formats a debug string for every HCI packet even when
logging is off (f-strings are evaluated before ``logger.debug`` is called).
:class:`QuietController` and :class:`QuietHost` skip that formatting and use
251-byte LE ACL buffers (the LE Data Length Extension maximum) instead of 27,
so one notification travels as one ACL packet.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref

from bumble import hci
from bumble.controller import Controller
from bumble.core import PhysicalTransport
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink

from ..errors import DeviceNotFoundError

__all__ = [
    "QuietController",
    "QuietHost",
    "VirtualRadio",
    "get_radio",
    "random_static_address",
]

#: HCI reason code reported on both sides when a link is lost (supervision timeout).
REASON_CONNECTION_TIMEOUT = hci.HCI_CONNECTION_TIMEOUT_ERROR
#: HCI reason code of an ordinary, requested disconnection.
REASON_REMOTE_USER_TERMINATED = hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR


class QuietController(Controller):
    """A Bumble controller without per-packet debug formatting and with large LE buffers."""

    le_acl_data_packet_length = 251
    total_num_le_acl_data_packets = 250  # a u8 in HCI LE Read Buffer Size
    supported_max_tx_octets = 251
    supported_max_rx_octets = 251
    suggested_max_tx_octets = 251

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        # Same dispatch as Controller.on_hci_packet, minus the eager debug f-string.
        if isinstance(packet, hci.HCI_Command):
            self.on_hci_command_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        elif isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.host:
            asyncio.get_running_loop().call_soon(self.host.on_packet, bytes(packet))


class QuietHost(Host):
    """A Bumble host without per-packet debug formatting."""

    def send_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper:
            self.snooper.snoop(bytes(packet), self.snooper.Direction.HOST_TO_CONTROLLER)
        if self.hci_sink:
            self.hci_sink.on_packet(bytes(packet))

    def on_hci_packet(self, packet: hci.HCI_Packet) -> None:
        if self.snooper:
            self.snooper.snoop(bytes(packet), self.snooper.Direction.CONTROLLER_TO_HOST)
        if isinstance(packet, hci.HCI_Event):
            self.on_hci_event_packet(packet)
        elif isinstance(packet, hci.HCI_AclDataPacket):
            self.on_hci_acl_data_packet(packet)
        else:  # commands, SCO and ISO never travel on this link
            super().on_hci_packet(packet)

    def send_acl_sdu(self, connection_handle: int, sdu: bytes) -> None:
        connection = self.connections.get(connection_handle)
        if connection is None or connection.acl_packet_queue is None:
            return
        queue = connection.acl_packet_queue
        size = queue.max_packet_size
        for offset in range(0, len(sdu), size):
            pdu = sdu[offset : offset + size]
            queue.enqueue(
                hci.HCI_AclDataPacket(
                    connection_handle=connection_handle,
                    pb_flag=1 if offset > 0 else 0,
                    bc_flag=0,
                    data_total_length=len(pdu),
                    data=pdu,
                ),
                connection_handle,
            )


def random_static_address(seed: str) -> str:
    """A stable random static address (two top bits set) derived from ``seed``.

    Examples
    --------
    >>> random_static_address("thigh")[:1] in "CDEF"
    True
    """
    digest = bytearray(hashlib.sha256(seed.encode()).digest()[:6])
    digest[0] |= 0xC0  # random static: the two most significant bits are 1
    return ":".join(f"{b:02X}" for b in digest)


def _address(text: str) -> hci.Address:
    return hci.Address(text, hci.Address.RANDOM_DEVICE_ADDRESS)


class VirtualRadio:
    """The emulated air of one event loop: a link, one central adapter, peripherals.

    Use :func:`get_radio` rather than the constructor.
    """

    def __init__(self) -> None:
        self.link = LocalLink()
        self._central: Device | None = None
        self._central_ready: asyncio.Future[Device] | None = None
        self._connect_lock = asyncio.Lock()
        self._scanners = 0
        self._scan_lock = asyncio.Lock()
        #: Virtual peripherals on this radio, by upper-case address.
        self.peripherals: dict[str, object] = {}

    # ------------------------------------------------------------------ devices
    def new_device(self, name: str, address: str) -> Device:
        """Create a Bumble device on its own quiet controller, attached to the link."""
        controller = QuietController(name, link=self.link)
        config = DeviceConfiguration(name=name, address=_address(address))
        host = QuietHost(controller, controller)
        return Device(config=config, host=host)

    async def central(self) -> Device:
        """The powered-on central adapter used by the bleak backend (created once)."""
        if self._central_ready is None:
            self._central_ready = asyncio.get_running_loop().create_future()
            try:
                device = self.new_device("motiontrack-central", random_static_address("central"))
                await device.power_on()
            except BaseException as exc:
                self._central_ready.set_exception(exc)
                self._central_ready.exception()  # mark retrieved
                self._central_ready = None
                raise
            self._central = device
            self._central_ready.set_result(device)
        return await asyncio.shield(self._central_ready)

    # ----------------------------------------------------------------- scanning
    async def start_scanning(self) -> Device:
        """Reference-counted start of scanning on the central adapter."""
        central = await self.central()
        async with self._scan_lock:
            self._scanners += 1
            if self._scanners == 1:
                await central.start_scanning(filter_duplicates=False)
        return central

    async def stop_scanning(self) -> None:
        central = self._central
        if central is None:
            return
        async with self._scan_lock:
            self._scanners = max(0, self._scanners - 1)
            if self._scanners == 0 and central.scanning:
                await central.stop_scanning()

    # --------------------------------------------------------------- connecting
    async def connect(self, address: str, timeout: float) -> Connection:
        """Connect the central to ``address``, enforcing ``timeout`` (s).

        Connection requests are serialised (one pending LE connection per
        controller, as on real adapters); ``timeout`` covers the wait in line.

        Raises
        ------
        DeviceNotFoundError
            Nothing with that address advertised connectably within ``timeout``.
        """
        central = await self.central()
        peer = _address(address)
        try:
            async with asyncio.timeout(timeout):
                async with self._connect_lock:
                    try:
                        return await central.connect(
                            peer, transport=PhysicalTransport.LE, timeout=None
                        )
                    except asyncio.CancelledError:
                        self._clear_pending_connection()
                        raise
        except TimeoutError:
            raise DeviceNotFoundError(
                address, f"no virtual sensor answered at {address} within {timeout:g} s"
            ) from None

    def _clear_pending_connection(self) -> None:
        # The emulated controller ignores LE Create Connection Cancel and would
        # otherwise refuse every later connection ("command disallowed").
        central = self._central
        if central is not None:
            controller = central.host.hci_sink
            if isinstance(controller, Controller):
                controller.pending_le_connection = None

    # ---------------------------------------------------------------- link loss
    def drop_link(self, address: str, reason: int = REASON_CONNECTION_TIMEOUT) -> int:
        """End every LE link that involves ``address`` on both ends, as a lost link.

        Returns the number of controller-side connections that were ended.
        """
        target = _address(address)
        ended = 0
        for controller in list(self.link.controllers):
            for peer_address, connection in list(controller.le_connections.items()):
                if peer_address == target or connection.self_address == target:
                    controller.on_le_disconnected(connection, reason)
                    ended += 1
        return ended

    def remove_controller(self, controller: Controller) -> None:
        if controller in self.link.controllers:
            self.link.remove_controller(controller)

    def add_controller(self, controller: Controller) -> None:
        self.link.add_controller(controller)


_RADIOS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, VirtualRadio] = (
    weakref.WeakKeyDictionary()
)


def get_radio() -> VirtualRadio:
    """The virtual radio of the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    radio = _RADIOS.get(loop)
    if radio is None:
        radio = VirtualRadio()
        _RADIOS[loop] = radio
    return radio

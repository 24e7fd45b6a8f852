# A small MQTT 3.1.1 client for MicroPython's asyncio, in the manner of Peter Hinch's mqtt_as:
# non-blocking streams, keepalive pings, QoS 1 with retransmission (DUP) after a reconnect,
# a last will, clean start at power-up and a persistent session across outages, reconnection
# with backoff, the broker by IP address, over TLS verified against the center's CA (trust.py).
# umqtt.simple blocks and hangs when the broker restarts; this never blocks the board's main loop.
#
# QoS 1 here means the broker has the message (PUBACK). It does not mean the gateway has it:
# that is the gateway's application ack, which the outbox waits for (docs/protocol.md).
import asyncio
import socket
import struct
import time

from micropython import const

CONNECT = const(0x10)
CONNACK = const(0x20)
PUBLISH = const(0x30)
PUBACK = const(0x40)
SUBSCRIBE = const(0x82)
SUBACK = const(0x90)
PINGREQ = const(0xC0)
PINGRESP = const(0xD0)
DISCONNECT = const(0xE0)


class MQTTError(Exception):
    pass


def _str(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("!H", len(b)) + b


def _packet(kind, body):
    n = len(body)
    head = bytearray((kind,))
    while True:
        byte = n & 0x7F
        n >>= 7
        head.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(head) + body


class MQTTClient:
    def __init__(self, client_id, server, port=8883, user=None, password=None, keepalive=30, ssl=None):
        self.client_id, self.server, self.port = client_id, server, port
        self.user, self.password, self.keepalive = user, password, keepalive
        self.ssl = ssl  # an ssl.SSLContext (trust.context), or None for plain MQTT (tests of the protocol only)
        self.will = None
        self.on_message = None  # function(topic: str, payload: bytes)
        self.connected = False
        self.reconnects = 0
        self._reader = self._writer = None
        self._pid = 0
        self._unacked = {}  # pid -> (topic, payload, retain): resent with DUP after a reconnect
        self._waiting = {}  # pid -> [asyncio.Event, acknowledged]
        self._tasks = []
        self._last_rx = 0

    def set_last_will(self, topic, payload, retain=True, qos=1):
        self.will = (topic, payload, retain, qos)

    # -- connection ------------------------------------------------------------------------
    async def connect(self, clean):
        """Open the session; clean=True at power-up, False on reconnects (the broker kept ours).
        Everything up to the CONNACK, the TLS handshake included, within one keepalive."""
        await asyncio.wait_for(self._open(clean), self.keepalive)
        self.connected = True
        self._last_rx = _now()
        self._tasks = [asyncio.create_task(self._receive()), asyncio.create_task(self._ping())]
        for pid, (topic, msg, retain) in list(self._unacked.items()):
            await self._send_publish(topic, msg, retain, pid, dup=True)

    async def _open(self, clean):
        reader, writer = await asyncio.open_connection(self.server, self.port)
        _no_delay(writer)  # on the TCP socket, before TLS wraps it
        if self.ssl:
            # The handshake runs on the first write; the name checked is the broker's address,
            # which its certificate carries (hangcho-gateway broker-auth --host). In MicroPython a
            # stream keeps its socket in `.s`, and StreamReader and StreamWriter are one class over
            # a socket (the stubs are CPython's, hence the pyright comments).
            s = self.ssl.wrap_socket(writer.s, server_hostname=self.server, do_handshake_on_connect=False)  # pyright: ignore[reportAttributeAccessIssue]
            reader = asyncio.StreamReader(s)  # pyright: ignore[reportArgumentType]
            writer = asyncio.StreamWriter(s)  # pyright: ignore[reportCallIssue]
        self._reader, self._writer = reader, writer
        flags = 0x02 if clean else 0
        payload = _str(self.client_id)
        if self.will:
            topic, msg, retain, qos = self.will
            flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
            payload += _str(topic) + _str(msg)
        if self.user is not None:
            flags |= 0x80
            payload += _str(self.user)
            if self.password is not None:
                flags |= 0x40
                payload += _str(self.password)
        body = _str("MQTT") + bytes((4, flags)) + struct.pack("!H", self.keepalive) + payload
        await self._send(_packet(CONNECT, body))
        kind, data = await self._read_packet()
        if kind != CONNACK or data[1] != 0:
            raise MQTTError("connection refused: %d" % (data[1] if len(data) > 1 else -1))

    async def disconnect(self):
        if self.connected:
            try:
                await self._send(bytes((DISCONNECT, 0)))
            except OSError:
                pass
        self._down()

    def close(self):
        """Drop the connection without DISCONNECT (the broker then sends the last will)."""
        self._down()

    def _down(self):
        was = self.connected
        self.connected = False
        me = asyncio.current_task()  # _receive and _ping end here themselves: a task cannot cancel itself
        for task in self._tasks:
            if task is not me:
                task.cancel()
        self._tasks = []
        if self._writer is not None:
            try:
                self._writer.close()
            except OSError:
                pass
        self._writer = self._reader = None
        for entry in self._waiting.values():
            entry[0].set()  # wake publishers: not acknowledged
        if was:
            self.reconnects += 1

    async def _send(self, data):
        if self._writer is None:
            raise MQTTError("not connected")
        self._writer.write(data)
        await self._writer.drain()

    # -- packets -----------------------------------------------------------------------------
    async def _read_packet(self):
        reader = self._reader
        if reader is None:
            raise MQTTError("not connected")
        head = await reader.readexactly(1)
        n = shift = 0
        while True:
            byte = (await reader.readexactly(1))[0]
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        data = await reader.readexactly(n) if n else b""
        self._last_rx = _now()
        return head[0], data

    async def _receive(self):
        try:
            while True:
                kind, data = await self._read_packet()
                t = kind & 0xF0
                if t == PUBLISH:
                    await self._incoming(kind, data)
                elif t in (PUBACK, SUBACK):
                    pid = struct.unpack("!H", data[:2])[0]
                    self._unacked.pop(pid, None)
                    entry = self._waiting.pop(pid, None)
                    if entry:
                        entry[1] = True
                        entry[0].set()
        except (OSError, EOFError, MQTTError):
            self._down()
        except MemoryError as e:  # no room for a packet: the stream is lost, so is the session
            print("mqtt: %r; reconnecting" % e)
            self._down()

    async def _incoming(self, kind, data):
        n = struct.unpack("!H", data[:2])[0]
        topic = data[2 : 2 + n].decode()
        rest = 2 + n
        qos = (kind >> 1) & 3
        if qos:
            pid = data[rest : rest + 2]
            rest += 2
            await self._send(bytes((PUBACK, 2)) + pid)
        if self.on_message:
            self.on_message(topic, memoryview(data)[rest:])  # no copy: a board's heap is small

    async def _ping(self):
        while True:
            await asyncio.sleep(self.keepalive / 2)
            if _now() - self._last_rx > self.keepalive * 1.5:
                self._down()  # the link is dead even if the socket has not noticed
                return
            try:
                await self._send(bytes((PINGREQ, 0)))
            except (OSError, MQTTError):
                self._down()
                return

    # -- publish and subscribe ---------------------------------------------------------------------------
    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    async def _send_publish(self, topic, msg, retain, pid, dup=False):
        kind = PUBLISH | (0x08 if dup else 0) | (0x02 if pid else 0) | (0x01 if retain else 0)
        body = _str(topic) + (struct.pack("!H", pid) if pid else b"") + msg
        await self._send(_packet(kind, body))

    async def publish(self, topic, msg, qos=1, retain=False, timeout=10):
        """QoS 1: return True once the broker has it; False if the link went down first (it is
        kept and resent with DUP after the next connect)."""
        msg = msg.encode() if isinstance(msg, str) else msg
        if not qos:
            await self._send_publish(topic, msg, retain, 0)
            return True
        pid = self._next_pid()
        self._unacked[pid] = (topic, msg, retain)
        return await self._await(pid, self._send_publish(topic, msg, retain, pid), timeout)

    async def subscribe(self, topic, qos=1, timeout=10):
        pid = self._next_pid()
        body = struct.pack("!H", pid) + _str(topic) + bytes((qos,))
        return await self._await(pid, self._send(_packet(SUBSCRIBE, body)), timeout)

    async def _await(self, pid, sending, timeout):
        entry = [asyncio.Event(), False]
        self._waiting[pid] = entry
        try:
            await sending
            await asyncio.wait_for(entry[0].wait(), timeout)
        except (OSError, MQTTError, asyncio.TimeoutError):
            pass
        self._waiting.pop(pid, None)
        return entry[1]


def _now():
    return time.time()


def _no_delay(writer):
    """Nagle off: each small packet (a press, a PUBACK) goes out at once instead of waiting for
    the previous one's TCP ack, which the other side may delay by 40 ms or more. MicroPython has
    TCP_NODELAY on the ESP32 since 1.23; lwIP and Linux both number it IPPROTO_TCP 6, option 1."""
    try:
        writer.s.setsockopt(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)
    except (AttributeError, OSError):
        pass  # an older image: Nagle stays on, slower but correct

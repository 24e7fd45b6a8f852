# Updates over the air. The gateway serves app bundles at https://<gateway>/ota/<version>/:
# manifest.json ({"version": v, "files": {"hangcho.mpy": "<sha256>", ...}}) and the files. A board
# told to update (cmd/update) downloads them into apps/<version>/, checks every SHA-256, marks the
# version for a trial and resets. The boot script (main.py, written by provisioning and never
# replaced by an update) runs a trial once; the app commits it after OTA_HEALTHY_S online, and a
# trial that does not get there is rolled back at the next boot (docs/technician.md).
# Only over TLS, verified against the center's CA that provisioning put on the flash (`ca`
# in config.json, the file ca.crt): no CA, no update. The host name or address in cmd/update is
# checked against the gateway's certificate.
import asyncio
import binascii
import hashlib
import json
import os
import time

from micropython import const

CHUNK = const(512)
APPS = "apps"


def read(name):
    try:
        with open("%s/%s" % (APPS, name)) as f:
            return f.read().strip()
    except OSError:
        return ""


def write(name, text):
    with open("%s/%s.new" % (APPS, name), "w") as f:
        f.write(text)
    os.rename("%s/%s.new" % (APPS, name), "%s/%s" % (APPS, name))


def remove(name):
    try:
        os.remove("%s/%s" % (APPS, name))
    except OSError:
        pass


def _mkdirs(path):
    built = ""
    for part in path.split("/"):
        built = part if not built else built + "/" + part
        try:
            os.mkdir(built)
        except OSError:
            pass


def der(pem):
    """The first certificate of a PEM file as DER: this port's mbedTLS takes DER in cadata."""
    if not pem.startswith(b"-----"):
        return pem
    body = []
    for line in pem.split(b"\n"):
        line = line.strip()
        if line.startswith(b"-----END"):
            break
        if line and not line.startswith(b"-----"):
            body.append(line)
    return binascii.a2b_base64(b"".join(body))


def tls_context(ca_file):
    """A client context that trusts only the center's CA."""
    import ssl

    try:
        with open(ca_file, "rb") as f:
            ca = f.read()
    except (OSError, TypeError):
        raise OSError("no CA (%s) on the board: provision it again" % ca_file) from None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cadata=der(ca))
    return ctx


async def _get(host, port, path, sink, ctx):
    """HTTP/1.0 GET over TLS; the body goes to sink(bytes) in CHUNK-sized pieces."""
    started = time.ticks_ms()
    reader, writer = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=host)
    try:
        writer.write(("GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (path, host)).encode())
        await writer.drain()
        status = await reader.readline()  # the handshake runs on the first write: this bounds it
        print("ota: tls_handshake_ms", time.ticks_diff(time.ticks_ms(), started))
        if b" 200 " not in status:
            raise OSError("GET %s: %s" % (path, status.decode().strip()))
        while (await reader.readline()) not in (b"\r\n", b""):
            pass
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk:
                break
            sink(chunk)
    finally:
        writer.close()
        await writer.wait_closed()


async def stage(host, port, base, version, healthy_s=30, ca="ca.crt"):
    """Download and verify the bundle; mark it for a trial at the next boot, to be committed after
    `healthy_s` seconds online."""
    ctx = tls_context(ca)
    parts = []
    await _get(host, port, base + "manifest.json", parts.append, ctx)
    manifest = json.loads(b"".join(parts))
    if manifest.get("version") != version:
        raise ValueError("manifest is for %s, not %s" % (manifest.get("version"), version))
    folder = "%s/%s" % (APPS, version)
    _mkdirs(folder)
    for name, digest in manifest["files"].items():
        h = hashlib.sha256()
        with open("%s/%s.part" % (folder, name), "wb") as f:

            def sink(chunk, h=h, f=f):
                h.update(chunk)
                f.write(chunk)

            await _get(host, port, base + name, sink, ctx)
        if binascii.hexlify(h.digest()).decode() != digest:
            raise ValueError("%s: SHA-256 differs" % name)
        os.rename("%s/%s.part" % (folder, name), "%s/%s" % (folder, name))
    write("healthy_s", str(healthy_s))
    write("trial", version)


def commit():
    """The running trial came online and stayed healthy: it becomes the current version."""
    trying = read("trying")
    if trying:
        write("current", trying)
        remove("trying")
        return trying
    return None

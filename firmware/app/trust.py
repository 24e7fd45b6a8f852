# Trust in the gateway: TLS for the board's links to it (MQTT; the OTA downloads may use it
# too). The center's own CA, which provisioning writes as ca.crt (DER: MicroPython's mbedTLS
# reads DER), and the server verified against it and its address (CERT_REQUIRED: an SSLContext
# for a client does not verify by default in MicroPython). Not named tls.py: MicroPython has a
# built-in module `tls`, which would shadow it.
import ssl


def context(path):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_REQUIRED
    with open(path, "rb") as f:
        ctx.load_verify_locations(cadata=f.read())
    return ctx

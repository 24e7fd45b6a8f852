# A stand-in for MicroPython's `esp32` module on the unix port: the chip's temperature sensor.
# The classic ESP32 has raw_temperature() (degrees Fahrenheit); the S2/S3/C3 have mcu_temperature()
# (Celsius). HANGCHO_CHIP says which chip is simulated; the file `temperature` holds Celsius.
import os

CAPTURE_DIR = os.getenv("HANGCHO_CAPTURE") or "."


def _celsius():
    try:
        with open(CAPTURE_DIR + "/temperature") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 45


if os.getenv("HANGCHO_CHIP") == "esp32s3":

    def mcu_temperature():
        return _celsius()

else:

    def raw_temperature():
        return int(_celsius() * 9 / 5 + 32)

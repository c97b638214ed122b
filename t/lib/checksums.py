"""The checksums Azure clients send and expect, independent of the server.

md5_b64: Content-MD5; crc64_b64: x-ms-content-crc64 (the reflected CRC-64
with polynomial 0x9A6C9329AC4BC9B5, all-ones initial value and final xor,
eight bytes little-endian), one byte a step: slow and obviously right.
"""

import base64
import hashlib


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def _crc64_table():
    poly = 0x9A6C9329AC4BC9B5
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


CRC64_TABLE = _crc64_table()


def crc64_b64(data):
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc = CRC64_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    crc ^= 0xFFFFFFFFFFFFFFFF
    return base64.b64encode(crc.to_bytes(8, "little")).decode()

"""Seal and open a credential and pack an envelope through libhexvault with ctypes only.

Usage: python3 hexvault_ctypes.py [path/to/libhexvault.so]
No third-party package and no compiler: the C ABI is usable from a second language as is.
"""
import ctypes
import sys

OK, BUFFER_TOO_SMALL, AUTHENTICATION_FAILED, INVALID_HANDLE = 0, 3, 4, 8


class Buffer(ctypes.Structure):
    """HexvaultBuffer: read-only to the caller; `id` is the buffer's registration number."""
    _fields_ = [
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("id", ctypes.c_uint64),
    ]


class EnvelopeOptions(ctypes.Structure):
    _fields_ = [
        ("compress", ctypes.c_uint8),
        ("max_original_len", ctypes.c_uint64),
        ("max_envelope_len", ctypes.c_uint64),
        ("content_type", ctypes.c_char_p),
        ("content_type_len", ctypes.c_size_t),
    ]


def load(path):
    lib = ctypes.CDLL(path)
    u8p, size, sizep = ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)
    lib.hexvault_version.restype = ctypes.c_char_p
    lib.hexvault_error_message.restype = ctypes.c_char_p
    lib.hexvault_error_message.argtypes = [ctypes.c_int32]
    lib.hexvault_last_error.restype = ctypes.c_char_p
    lib.hexvault_encryptor_new.restype = ctypes.c_int32
    lib.hexvault_encryptor_new.argtypes = [u8p, size, ctypes.c_uint32, ctypes.c_uint64,
                                           ctypes.POINTER(ctypes.c_uint64)]
    for name in ("hexvault_encryptor_seal", "hexvault_encryptor_open"):
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int32
        fn.argtypes = [ctypes.c_uint64, u8p, size, u8p, size, ctypes.c_void_p, size, sizep]
    lib.hexvault_encryptor_free.restype = ctypes.c_int32
    lib.hexvault_encryptor_free.argtypes = [ctypes.c_uint64]
    lib.hexvault_envelope_options_default.restype = EnvelopeOptions
    for name in ("hexvault_envelope_store", "hexvault_envelope_retrieve"):
        fn = getattr(lib, name)
        fn.restype = ctypes.c_int32
        fn.argtypes = [u8p, size, ctypes.POINTER(EnvelopeOptions), ctypes.POINTER(Buffer)]
    lib.hexvault_buffer_free.restype = ctypes.c_int32
    lib.hexvault_buffer_free.argtypes = [ctypes.POINTER(Buffer)]
    return lib


def check(lib, status):
    if status != OK:
        raise RuntimeError("%s: %s" % (lib.hexvault_error_message(status).decode(),
                                       lib.hexvault_last_error().decode()))


def call_with_output(lib, fn, handle, data, aad):
    """The buffer-too-small protocol: ask for the size, then call with a buffer that fits."""
    needed = ctypes.c_size_t(0)
    status = fn(handle, data, len(data), aad, len(aad), None, 0, ctypes.byref(needed))
    if status not in (OK, BUFFER_TOO_SMALL):
        check(lib, status)
    out = ctypes.create_string_buffer(max(needed.value, 1))
    check(lib, fn(handle, data, len(data), aad, len(aad), out, len(out), ctypes.byref(needed)))
    return out.raw[: needed.value]


def main():
    lib = load(sys.argv[1] if len(sys.argv) > 1 else "libhexvault.so")
    handle = ctypes.c_uint64(0)
    check(lib, lib.hexvault_encryptor_new(bytes(range(32)), 32, 1, 0, ctypes.byref(handle)))
    sealed = call_with_output(lib, lib.hexvault_encryptor_seal, handle, b"db-password", b"acme")
    assert sealed[:4] == b"HXVA" and len(sealed) == len(b"db-password") + 37
    opened = call_with_output(lib, lib.hexvault_encryptor_open, handle, sealed, b"acme")
    assert opened == b"db-password"
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    status = lib.hexvault_encryptor_open(handle, tampered, len(tampered), b"acme", 4, None, 0,
                                         ctypes.byref(ctypes.c_size_t(0)))
    assert status in (AUTHENTICATION_FAILED, BUFFER_TOO_SMALL), status

    options = lib.hexvault_envelope_options_default()
    options.content_type, options.content_type_len = b"application/x-sealed", 20
    envelope = Buffer()
    check(lib, lib.hexvault_envelope_store(sealed, len(sealed), ctypes.byref(options),
                                           ctypes.byref(envelope)))
    packed = ctypes.string_at(envelope.data, envelope.len)
    stale = Buffer(envelope.data, envelope.len, envelope.id)
    check(lib, lib.hexvault_buffer_free(ctypes.byref(envelope)))
    assert lib.hexvault_buffer_free(ctypes.byref(stale)) == INVALID_HANDLE
    unpacked = Buffer()
    check(lib, lib.hexvault_envelope_retrieve(packed, len(packed), None, ctypes.byref(unpacked)))
    assert ctypes.string_at(unpacked.data, unpacked.len) == sealed
    check(lib, lib.hexvault_buffer_free(ctypes.byref(unpacked)))

    check(lib, lib.hexvault_encryptor_free(handle))
    assert lib.hexvault_encryptor_free(handle) == INVALID_HANDLE
    print("python: ok (hexvault %s, sealed %d bytes, envelope %d bytes)"
          % (lib.hexvault_version().decode(), len(sealed), len(packed)))


if __name__ == "__main__":
    main()

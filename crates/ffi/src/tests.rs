//! Unit tests of the C ABI called from Rust: round trips against the Rust API, every status,
//! the buffer-too-small protocol, handles and buffers freed twice or forged, panics.

use std::ffi::CStr;
use std::thread;

use facade::aead::{Key, KeyVersion, SealingKey};
use facade::envelope::{ByteStorage, Options};

use super::*;

const KEY: [u8; 32] = [7; 32];

#[allow(unsafe_code)]
fn new_encryptor(version: u32, max_seals: u64) -> HexvaultEncryptor {
    let mut handle = 0;
    // SAFETY: valid key slice and out pointer.
    let status =
        unsafe { hexvault_encryptor_new(KEY.as_ptr(), KEY.len(), version, max_seals, &mut handle) };
    assert_eq!(status, HexvaultStatus::Ok);
    assert_ne!(handle, 0);
    handle
}

#[allow(unsafe_code)]
fn seal(
    handle: HexvaultEncryptor,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, HexvaultStatus> {
    let mut out = vec![0u8; plaintext.len() + OVERHEAD];
    let mut len = 0;
    // SAFETY: all slices valid for their lengths; `out` distinct from the inputs.
    let status = unsafe {
        hexvault_encryptor_seal(
            handle,
            plaintext.as_ptr(),
            plaintext.len(),
            aad.as_ptr(),
            aad.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    if status != HexvaultStatus::Ok {
        return Err(status);
    }
    out.truncate(len);
    Ok(out)
}

#[allow(unsafe_code)]
fn open(handle: HexvaultEncryptor, blob: &[u8], aad: &[u8]) -> Result<Vec<u8>, HexvaultStatus> {
    let mut out = vec![0u8; blob.len()];
    let mut len = 0;
    // SAFETY: all slices valid for their lengths; `out` distinct from the inputs.
    let status = unsafe {
        hexvault_encryptor_open(
            handle,
            blob.as_ptr(),
            blob.len(),
            aad.as_ptr(),
            aad.len(),
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    if status != HexvaultStatus::Ok {
        return Err(status);
    }
    out.truncate(len);
    Ok(out)
}

#[allow(unsafe_code)]
fn status_of(handle: HexvaultEncryptor) -> HexvaultEncryptorStatus {
    let mut status = HexvaultEncryptorStatus::default();
    // SAFETY: valid out pointer.
    let code = unsafe { hexvault_encryptor_status(handle, &mut status) };
    assert_eq!(code, HexvaultStatus::Ok);
    status
}

#[allow(unsafe_code)]
fn last_error() -> String {
    // SAFETY: the pointer is a valid NUL-terminated string until the next call.
    unsafe { CStr::from_ptr(hexvault_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn seal_open_round_trip_and_rust_interop() {
    let handle = new_encryptor(3, 0);
    let blob = seal(handle, b"credential", b"ctx").unwrap();
    assert_eq!(blob.len(), 10 + OVERHEAD);
    assert_eq!(open(handle, &blob, b"ctx").unwrap(), b"credential");
    // The Rust API opens what C sealed, and the reverse.
    let rust = SealingKey::new(Key::from_bytes(KEY), KeyVersion::new(3).unwrap()).unwrap();
    assert_eq!(
        rust.open(&blob, b"ctx").unwrap().expose_secret(),
        b"credential"
    );
    let from_rust = rust.seal(b"from rust", b"").unwrap();
    assert_eq!(open(handle, &from_rust, b"").unwrap(), b"from rust");
    assert_eq!(status_of(handle).encryptions, 1);
    assert_eq!(hexvault_encryptor_free(handle), HexvaultStatus::Ok);
}

#[test]
fn every_tampering_and_wrong_context_fails() {
    let handle = new_encryptor(1, 0);
    let blob = seal(handle, b"secret", b"aad").unwrap();
    assert_eq!(
        open(handle, &blob, b"other"),
        Err(HexvaultStatus::AuthenticationFailed)
    );
    for at in aead::HEADER_LEN..blob.len() {
        let mut bad = blob.clone();
        bad[at] ^= 1;
        assert_eq!(
            open(handle, &bad, b"aad"),
            Err(HexvaultStatus::AuthenticationFailed)
        );
    }
    let mut bad_magic = blob.clone();
    bad_magic[0] ^= 1;
    assert_eq!(
        open(handle, &bad_magic, b"aad"),
        Err(HexvaultStatus::MalformedInput)
    );
    assert_eq!(
        open(handle, &blob[..10], b"aad"),
        Err(HexvaultStatus::MalformedInput)
    );
    let other_version = new_encryptor(2, 0);
    assert_eq!(
        open(other_version, &blob, b"aad"),
        Err(HexvaultStatus::WrongKeyVersion)
    );
    assert!(last_error().contains("key version"), "{}", last_error());
    hexvault_encryptor_free(handle);
    hexvault_encryptor_free(other_version);
}

#[test]
#[allow(unsafe_code)]
fn buffer_too_small_reports_the_size_and_consumes_no_nonce() {
    let handle = new_encryptor(1, 0);
    let mut len = 0;
    // SAFETY: a size query: NULL output with capacity 0.
    let status = unsafe {
        hexvault_encryptor_seal(
            handle,
            b"abc".as_ptr(),
            3,
            core::ptr::null(),
            0,
            core::ptr::null_mut(),
            0,
            &mut len,
        )
    };
    assert_eq!(status, HexvaultStatus::BufferTooSmall);
    assert_eq!(len, 3 + OVERHEAD);
    assert_eq!(status_of(handle).encryptions, 0);
    let blob = seal(handle, b"abc", b"").unwrap();
    let mut small = [0u8; 2];
    // SAFETY: `small` holds 2 writable bytes.
    let status = unsafe {
        hexvault_encryptor_open(
            handle,
            blob.as_ptr(),
            blob.len(),
            core::ptr::null(),
            0,
            small.as_mut_ptr(),
            small.len(),
            &mut len,
        )
    };
    assert_eq!(status, HexvaultStatus::BufferTooSmall);
    assert_eq!(len, 3);
    assert_eq!(small, [0, 0]);
    hexvault_encryptor_free(handle);
}

#[test]
fn rotate_soon_only_once_at_least_half_the_budget_is_used() {
    for (budget, seals, soon) in [
        (1, 0, 0),
        (1, 1, 1),
        (2, 0, 0),
        (2, 1, 1),
        (3, 1, 0),
        (3, 2, 1),
        (5, 2, 0),
        (5, 3, 1),
    ] {
        let handle = new_encryptor(1, budget);
        for _ in 0..seals {
            seal(handle, b"x", b"").unwrap();
        }
        assert_eq!(
            status_of(handle).rotate_soon,
            soon,
            "budget {budget} after {seals} seals"
        );
        hexvault_encryptor_free(handle);
    }
}

#[test]
fn budget_refuses_sealing_and_keeps_opening() {
    let handle = new_encryptor(1, 2);
    let first = seal(handle, b"1", b"").unwrap();
    assert_eq!(status_of(handle).rotate_soon, 1);
    seal(handle, b"2", b"").unwrap();
    assert_eq!(seal(handle, b"3", b""), Err(HexvaultStatus::RotationNeeded));
    let status = status_of(handle);
    assert_eq!(
        (status.encryptions, status.budget, status.rotation_needed),
        (2, 2, 1)
    );
    assert_eq!(open(handle, &first, b"").unwrap(), b"1");
    hexvault_encryptor_free(handle);
}

#[test]
#[allow(unsafe_code)]
fn invalid_arguments_and_null_pointers() {
    let mut handle = 0;
    // SAFETY: a 31-byte key is a valid slice; the call must refuse it.
    let status = unsafe { hexvault_encryptor_new(KEY.as_ptr(), 31, 1, 0, &mut handle) };
    assert_eq!(status, HexvaultStatus::InvalidArgument);
    // SAFETY: key version 0 is refused before any use.
    let status = unsafe { hexvault_encryptor_new(KEY.as_ptr(), 32, 0, 0, &mut handle) };
    assert_eq!(status, HexvaultStatus::InvalidArgument);
    // SAFETY: a budget above 2^32 is refused.
    let status = unsafe { hexvault_encryptor_new(KEY.as_ptr(), 32, 1, (1 << 32) + 1, &mut handle) };
    assert_eq!(status, HexvaultStatus::InvalidArgument);
    // SAFETY: NULL key with a non-zero length is detected.
    let status = unsafe { hexvault_encryptor_new(core::ptr::null(), 32, 1, 0, &mut handle) };
    assert_eq!(status, HexvaultStatus::NullPointer);
    assert!(last_error().contains("`key`"), "{}", last_error());
    // SAFETY: NULL out pointer is detected.
    let status = unsafe { hexvault_encryptor_new(KEY.as_ptr(), 32, 1, 0, core::ptr::null_mut()) };
    assert_eq!(status, HexvaultStatus::NullPointer);
    // SAFETY: NULL buffer pointer is detected.
    let status = unsafe { hexvault_buffer_free(core::ptr::null_mut()) };
    assert_eq!(status, HexvaultStatus::NullPointer);
}

#[test]
fn freed_and_forged_handles_are_refused() {
    let handle = new_encryptor(1, 0);
    assert_eq!(hexvault_encryptor_free(handle), HexvaultStatus::Ok);
    assert_eq!(
        hexvault_encryptor_free(handle),
        HexvaultStatus::InvalidHandle
    );
    assert_eq!(seal(handle, b"x", b""), Err(HexvaultStatus::InvalidHandle));
    assert_eq!(seal(0, b"x", b""), Err(HexvaultStatus::InvalidHandle));
    assert_eq!(
        seal(u64::MAX, b"x", b""),
        Err(HexvaultStatus::InvalidHandle)
    );
}

#[test]
fn free_racing_use_is_safe() {
    for _ in 0..20 {
        let handle = new_encryptor(1, 0);
        let user = thread::spawn(move || {
            let mut outcomes = Vec::new();
            for _ in 0..50 {
                outcomes.push(seal(handle, b"payload", b"").map(|_| ()));
            }
            outcomes
        });
        assert_eq!(hexvault_encryptor_free(handle), HexvaultStatus::Ok);
        let outcomes = user.join().unwrap();
        // Once refused, always refused: nothing succeeds after the free is seen.
        let first_refusal = outcomes
            .iter()
            .position(Result::is_err)
            .unwrap_or(outcomes.len());
        assert!(
            outcomes[first_refusal..]
                .iter()
                .all(|outcome| *outcome == Err(HexvaultStatus::InvalidHandle))
        );
    }
}

#[allow(unsafe_code)]
fn store(
    data: &[u8],
    options: Option<&HexvaultEnvelopeOptions>,
) -> Result<HexvaultBuffer, HexvaultStatus> {
    let mut out = HexvaultBuffer::EMPTY;
    let options = options.map_or(core::ptr::null(), |options| options as *const _);
    // SAFETY: valid input slice, options NULL or valid, out valid.
    let status = unsafe { hexvault_envelope_store(data.as_ptr(), data.len(), options, &mut out) };
    if status == HexvaultStatus::Ok {
        Ok(out)
    } else {
        Err(status)
    }
}

#[allow(unsafe_code)]
fn bytes(buffer: &HexvaultBuffer) -> Vec<u8> {
    if buffer.len == 0 {
        return Vec::new();
    }
    // SAFETY: a live buffer handed out by the library holds `len` bytes.
    unsafe { core::slice::from_raw_parts(buffer.data, buffer.len) }.to_vec()
}

#[allow(unsafe_code)]
fn retrieve(
    envelope: &[u8],
    options: Option<&HexvaultEnvelopeOptions>,
) -> Result<Vec<u8>, HexvaultStatus> {
    let mut out = HexvaultBuffer::EMPTY;
    let options = options.map_or(core::ptr::null(), |options| options as *const _);
    // SAFETY: valid input slice, options NULL or valid, out valid.
    let status =
        unsafe { hexvault_envelope_retrieve(envelope.as_ptr(), envelope.len(), options, &mut out) };
    if status != HexvaultStatus::Ok {
        return Err(status);
    }
    let data = bytes(&out);
    // SAFETY: `out` is a valid buffer struct.
    let status = unsafe { hexvault_buffer_free(&mut out) };
    assert_eq!(status, HexvaultStatus::Ok);
    Ok(data)
}

#[test]
#[allow(unsafe_code)]
fn envelope_round_trip_options_and_rust_interop() {
    let data = vec![b'a'; 4096];
    let label = b"text/plain";
    let mut options = hexvault_envelope_options_default();
    options.compress = 1;
    options.content_type = label.as_ptr();
    options.content_type_len = label.len();
    let mut buffer = store(&data, Some(&options)).unwrap();
    let envelope = bytes(&buffer);
    assert!(envelope.len() < data.len(), "compressed");
    let rust = ByteStorage::new(Options::default());
    assert_eq!(rust.retrieve(&envelope).unwrap(), data);
    assert_eq!(
        rust.check(&envelope)
            .unwrap()
            .content_type()
            .map(|c| c.as_str().to_owned()),
        Some("text/plain".to_owned())
    );
    assert_eq!(retrieve(&envelope, None).unwrap(), data);
    // SAFETY: valid buffer struct; freeing the emptied struct again is a no-op.
    let status = unsafe { hexvault_buffer_free(&mut buffer) };
    assert_eq!(status, HexvaultStatus::Ok);
    assert!(buffer.data.is_null());
    // SAFETY: as above.
    let status = unsafe { hexvault_buffer_free(&mut buffer) };
    assert_eq!(status, HexvaultStatus::Ok);
    // Rust-made envelopes open through C.
    let from_rust = rust.store(b"from rust").unwrap();
    assert_eq!(retrieve(&from_rust, None).unwrap(), b"from rust");
    // Empty input gives a valid envelope and an empty output buffer.
    let mut empty = store(b"", None).unwrap();
    let empty_envelope = bytes(&empty);
    assert_eq!(retrieve(&empty_envelope, None).unwrap(), b"");
    // SAFETY: valid buffer struct.
    let status = unsafe { hexvault_buffer_free(&mut empty) };
    assert_eq!(status, HexvaultStatus::Ok);
}

#[test]
fn envelope_errors_map_to_their_codes() {
    let mut buffer = store(&[1, 2, 3, 4, 5, 6, 7, 8], None).unwrap();
    let envelope = bytes(&buffer);
    let mut corrupt = envelope.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 1;
    assert_eq!(
        retrieve(&corrupt, None),
        Err(HexvaultStatus::ChecksumMismatch)
    );
    assert_eq!(
        retrieve(b"not an envelope at all, clearly not", None),
        Err(HexvaultStatus::MalformedInput)
    );
    // Checks stripped (flag cleared, check bytes zeroed) and content edited: refused as an
    // envelope without checksums (review round 50), not returned.
    let mut stripped = envelope.clone();
    stripped[5] = 0;
    stripped[16..32].fill(0);
    stripped[last] ^= 1;
    assert_eq!(
        retrieve(&stripped, None),
        Err(HexvaultStatus::MalformedInput)
    );
    let mut tight = hexvault_envelope_options_default();
    tight.max_original_len = 4;
    assert_eq!(
        retrieve(&envelope, Some(&tight)),
        Err(HexvaultStatus::LimitExceeded)
    );
    assert_eq!(
        store(&[0; 8], Some(&tight)).err(),
        Some(HexvaultStatus::LimitExceeded)
    );
    let mut wrong = hexvault_envelope_options_default();
    wrong.compress = 2;
    assert_eq!(
        store(b"x", Some(&wrong)).err(),
        Some(HexvaultStatus::InvalidArgument)
    );
    // Retrieving uses only the limits: the other fields are ignored.
    wrong.content_type = b"\x01".as_ptr();
    wrong.content_type_len = 1;
    assert_eq!(
        retrieve(&envelope, Some(&wrong)).unwrap(),
        [1, 2, 3, 4, 5, 6, 7, 8]
    );
    wrong.compress = 0;
    assert_eq!(
        store(b"x", Some(&wrong)).err(),
        Some(HexvaultStatus::InvalidArgument),
        "a control character is not a content type"
    );
    wrong.content_type = core::ptr::null();
    wrong.max_envelope_len = u64::MAX;
    assert_eq!(
        store(b"x", Some(&wrong)).err(),
        Some(HexvaultStatus::InvalidArgument)
    );
    // A copy of a freed buffer, and a forged one, are refused without touching memory.
    let copy = HexvaultBuffer {
        data: buffer.data,
        len: buffer.len,
        id: buffer.id,
    };
    #[allow(unsafe_code)]
    // SAFETY: valid buffer struct.
    let first = unsafe { hexvault_buffer_free(&mut buffer) };
    assert_eq!(first, HexvaultStatus::Ok);
    let mut copy = copy;
    #[allow(unsafe_code)]
    // SAFETY: a valid struct whose pointer the library no longer owns: it must refuse.
    let second = unsafe { hexvault_buffer_free(&mut copy) };
    assert_eq!(second, HexvaultStatus::InvalidHandle);
    let mut forged = HexvaultBuffer {
        data: 0x1000 as *mut u8,
        len: 16,
        id: 1,
    };
    #[allow(unsafe_code)]
    // SAFETY: a valid struct with a forged pointer: it must refuse.
    let third = unsafe { hexvault_buffer_free(&mut forged) };
    assert_eq!(third, HexvaultStatus::InvalidHandle);
}

/// `store(&a); copy = a; free(&a); store(&b)` with `b` at `a`'s old address and length, then
/// `free(&copy)`: the stale copy is refused (it used to free `b` under its owner), and `b`
/// stays readable and is freed exactly once by its owner.
#[test]
#[allow(unsafe_code)]
fn freed_copy_is_refused_when_a_later_buffer_reuses_the_address() {
    let payload = [0x5a_u8; 24];
    let mut a = store(&payload, None).unwrap();
    let expected = bytes(&a);
    let copy = HexvaultBuffer {
        data: a.data,
        len: a.len,
        id: a.id,
    };
    // SAFETY: valid buffer struct.
    assert_eq!(unsafe { hexvault_buffer_free(&mut a) }, HexvaultStatus::Ok);
    // The allocator hands the freed block back for the next block of the same size; the
    // few that do not land there are kept (so they cannot be reused either) and freed later.
    let mut others = Vec::new();
    let mut b = store(&payload, None).unwrap();
    while b.data != copy.data && others.len() < 64 {
        others.push(b);
        b = store(&payload, None).unwrap();
    }
    assert_eq!(
        (b.data, b.len),
        (copy.data, copy.len),
        "the allocator never reused the freed address: the sequence cannot be built"
    );
    assert_ne!(b.id, copy.id, "a registration number is never reused");
    let mut copy = copy;
    // SAFETY: a valid struct; its buffer was freed, so the library must refuse it.
    let status = unsafe { hexvault_buffer_free(&mut copy) };
    assert_eq!(status, HexvaultStatus::InvalidHandle);
    assert!(last_error().contains("buffer"), "{}", last_error());
    // `b` is untouched: still registered, still holding its envelope.
    assert_eq!(bytes(&b), expected);
    assert_eq!(retrieve(&bytes(&b), None).unwrap(), payload);
    // SAFETY: valid buffer struct, freed once by its owner.
    assert_eq!(unsafe { hexvault_buffer_free(&mut b) }, HexvaultStatus::Ok);
    assert!(b.data.is_null() && b.len == 0 && b.id == 0);
    for mut other in others {
        // SAFETY: valid buffer structs, each freed once.
        let status = unsafe { hexvault_buffer_free(&mut other) };
        assert_eq!(status, HexvaultStatus::Ok);
    }
}

#[test]
#[allow(unsafe_code)]
fn derive_domain_key_matches_rust_and_checks_its_buffer() {
    let master = [9u8; 32];
    let mut out = [0u8; 32];
    let mut len = 0;
    // SAFETY: all slices valid for their lengths.
    let status = unsafe {
        hexvault_derive_domain_key(
            master.as_ptr(),
            32,
            b"billing".as_ptr(),
            7,
            b"acme".as_ptr(),
            4,
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    assert_eq!(status, HexvaultStatus::Ok);
    assert_eq!(len, 32);
    let expected = aead::derive_domain_key(&Key::from_bytes(master), "billing", "acme").unwrap();
    assert_eq!(&out, expected.expose_secret());
    // SAFETY: a size query.
    let status = unsafe {
        hexvault_derive_domain_key(
            master.as_ptr(),
            32,
            b"billing".as_ptr(),
            7,
            b"acme".as_ptr(),
            4,
            core::ptr::null_mut(),
            0,
            &mut len,
        )
    };
    assert_eq!((status, len), (HexvaultStatus::BufferTooSmall, 32));
    // SAFETY: invalid UTF-8 in a valid slice.
    let status = unsafe {
        hexvault_derive_domain_key(
            master.as_ptr(),
            32,
            [0xff].as_ptr(),
            1,
            b"acme".as_ptr(),
            4,
            out.as_mut_ptr(),
            out.len(),
            &mut len,
        )
    };
    assert_eq!(status, HexvaultStatus::InvalidArgument);
}

#[test]
#[allow(unsafe_code)]
fn status_codes_are_stable_and_described() {
    for (number, status) in HexvaultStatus::ALL.iter().enumerate() {
        assert_eq!(*status as i32, i32::try_from(number).unwrap());
        // SAFETY: the returned pointer is a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(hexvault_error_message(*status as i32)) };
        assert!(!text.to_bytes().is_empty());
    }
    // SAFETY: as above.
    let unknown = unsafe { CStr::from_ptr(hexvault_error_message(-5)) };
    assert_eq!(unknown.to_str().unwrap(), "unknown hexvault status code");
    // SAFETY: static NUL-terminated string.
    let version = unsafe { CStr::from_ptr(hexvault_version()) };
    assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
}

#[test]
#[allow(clippy::panic)]
fn panics_become_the_panic_code() {
    let status = guard(|| panic!("boom"));
    assert_eq!(status, HexvaultStatus::Panic);
    assert!(last_error().contains("boom"));
    // The thread still works, and the detail is cleared by a success.
    let handle = new_encryptor(1, 0);
    assert_eq!(last_error(), "");
    hexvault_encryptor_free(handle);
}

/// Review round 6: `MalformedStream` and `Io` fell through to `Unknown`, although every
/// known variant is documented as mapped explicitly.
#[test]
fn stream_errors_have_their_own_codes_not_unknown() {
    let malformed = Error::from(facade::aead::Error::MalformedStream { reason: "test" });
    assert_eq!(malformed.status(), HexvaultStatus::MalformedInput);
    let io = Error::from(facade::aead::Error::Io {
        source: std::io::Error::other("test"),
    });
    assert_eq!(io.status(), HexvaultStatus::Internal);
}

//! Property tests of the record encoding (round trip, injectivity, canonical decoding) and a
//! pinned known-answer encoding, plus "never panics" on arbitrary log bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use hexvault_audit::{
    AuditKey, AuditRecord, Binding, BlobRef, CellId, ChainValue, Context, ContextId, Endpoint,
    ErrorClass, Event, EventKind, KeyVersion, Layer, Outcome, PartitionId, Sequence, Timestamp,
    Verifier,
};
use proptest::prelude::*;

fn endpoint() -> impl Strategy<Value = Endpoint> {
    (
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::collection::vec(any::<u8>(), 0..12),
        any::<u8>(),
        any::<u32>(),
    )
        .prop_map(|(p, c, l, k)| {
            Endpoint::new(
                PartitionId::new(p).unwrap(),
                CellId::new(c).unwrap(),
                Layer(l),
                KeyVersion(k),
            )
        })
}

/// A digest reference or a sealed (nonce and tag) reference, with or without a payload
/// digest: records with a sealed one are version 3.
fn blob() -> impl Strategy<Value = BlobRef> {
    let binding = prop_oneof![
        any::<[u8; 32]>().prop_map(Binding::Digest),
        (any::<[u8; 12]>(), any::<[u8; 16]>())
            .prop_map(|(nonce, tag)| Binding::Sealed { nonce, tag }),
    ];
    (binding, proptest::option::of(any::<[u8; 32]>()))
        .prop_map(|(binding, payload)| BlobRef { binding, payload })
}

fn context_id() -> impl Strategy<Value = Option<ContextId>> {
    proptest::option::of(
        proptest::collection::vec(any::<u8>(), 0..10).prop_map(|b| ContextId::new(b).unwrap()),
    )
}

/// `None` (a version-1 record) or a version-2 context with any of its four fields.
fn context() -> impl Strategy<Value = Option<Context>> {
    proptest::option::of(
        (context_id(), context_id(), context_id(), context_id()).prop_map(
            |(route, policy, session, actor)| {
                let mut c = Context::new();
                c.route = route;
                c.policy = policy;
                c.session = session;
                c.actor = actor;
                c
            },
        ),
    )
}

const KINDS: [EventKind; 8] = [
    EventKind::Traverse,
    EventKind::Seal,
    EventKind::Open,
    EventKind::Rotate,
    EventKind::Denied,
    EventKind::SessionStart,
    EventKind::SessionEnd,
    EventKind::Declare,
];
const CLASSES: [ErrorClass; 8] = [
    ErrorClass::Authentication,
    ErrorClass::ContextMismatch,
    ErrorClass::PolicyDenied,
    ErrorClass::SessionExpired,
    ErrorClass::KeyUnavailable,
    ErrorClass::RotationRequired,
    ErrorClass::Malformed,
    ErrorClass::Internal,
];

fn record() -> impl Strategy<Value = AuditRecord> {
    (
        (
            any::<u64>(),
            any::<u64>(),
            0..KINDS.len(),
            proptest::option::of(0..CLASSES.len()),
        ),
        (
            proptest::option::of(endpoint()),
            proptest::option::of(endpoint()),
        ),
        (proptest::option::of(blob()), proptest::option::of(blob())),
        (any::<[u8; 32]>(), context()),
    )
        .prop_map(
            |((seq, ts, kind, class), (src, dst), (input, output), (prev, context))| {
                let mut e = Event::new(KINDS[kind])
                    .outcome(class.map_or(Outcome::Success, |c| Outcome::Failure(CLASSES[c])));
                e.source = src;
                e.destination = dst;
                e.input = input;
                e.output = output;
                e.context = context;
                AuditRecord::new(
                    Sequence::new(seq),
                    Timestamp::from_unix_nanos(ts),
                    e,
                    ChainValue::from_bytes(prev),
                )
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn round_trip(r in record()) {
        let enc = r.encode().unwrap();
        prop_assert_eq!(AuditRecord::decode(&enc).unwrap(), r.clone());
        let mut appended = vec![1, 2, 3];
        r.encode_to(&mut appended).unwrap();
        prop_assert_eq!(&appended[3..], &enc[..]);
    }

    #[test]
    fn different_records_encode_differently(a in record(), b in record()) {
        if a != b {
            prop_assert_ne!(a.encode().unwrap(), b.encode().unwrap());
        } else {
            prop_assert_eq!(a.encode().unwrap(), b.encode().unwrap());
        }
    }

    /// Shifting bytes between adjacent variable-length fields changes the encoding.
    #[test]
    fn field_boundaries_are_unambiguous(p in proptest::collection::vec(any::<u8>(), 1..8), c in proptest::collection::vec(any::<u8>(), 0..8)) {
        let mk = |p: Vec<u8>, c: Vec<u8>| {
            let ep = Endpoint::new(PartitionId::new(p).unwrap(), CellId::new(c).unwrap(), Layer(0), KeyVersion(0));
            AuditRecord::new(Sequence::ZERO, Timestamp::from_unix_nanos(0), Event::new(EventKind::Seal).source(ep), ChainValue::from_bytes([0; 32])).encode().unwrap()
        };
        let mut p2 = p.clone();
        let moved = p2.pop().unwrap();
        let mut c2 = vec![moved];
        c2.extend_from_slice(&c);
        prop_assert_ne!(mk(p, c), mk(p2, c2));
    }

    /// Any bytes: decode never panics, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn decode_is_canonical(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(r) = AuditRecord::decode(&bytes) {
            prop_assert_eq!(r.encode().unwrap(), bytes);
        }
    }

    /// Mutated valid records: decode either fails or gives a record that encodes to the input.
    #[test]
    fn mutated_records_are_canonical_or_rejected(r in record(), pos in any::<usize>(), val in any::<u8>()) {
        let mut enc = r.encode().unwrap();
        let i = pos % enc.len();
        enc[i] = val;
        if let Ok(d) = AuditRecord::decode(&enc) {
            prop_assert_eq!(d.encode().unwrap(), enc);
        }
    }

    /// Arbitrary log images never panic the verifier.
    #[test]
    fn verifier_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bytes = b"HXAUDIT\0".to_vec();
        bytes.extend_from_slice(&tail);
        let _ = Verifier::keyed(&AuditKey::from_bytes([1; 32])).verify_bytes(&bytes);
        let _ = Verifier::unkeyed().verify_bytes(&tail);
    }
}

/// A pinned encoding: any change to the format must change this test and `docs/formats.md`.
#[test]
fn known_answer_encoding() {
    let ep = |p: &str, c: &str, l, k| {
        Endpoint::new(
            PartitionId::new(p).unwrap(),
            CellId::new(c).unwrap(),
            Layer(l),
            KeyVersion(k),
        )
    };
    let r = AuditRecord::new(
        Sequence::new(7),
        Timestamp::from_unix_nanos(1_764_000_000_000_000_000),
        Event::new(EventKind::Traverse)
            .source(ep("pa", "c1", 0, 2))
            .destination(ep("pb", "c2", 1, 3))
            .input(BlobRef {
                binding: Binding::Digest([0x11; 32]),
                payload: None,
            })
            .output(BlobRef {
                binding: Binding::Digest([0x22; 32]),
                payload: Some([0x33; 32]),
            })
            .outcome(Outcome::Failure(ErrorClass::ContextMismatch)),
        ChainValue::from_bytes([0xAA; 32]),
    );
    let expected = concat!(
        "01",               // record version
        "0000000000000007", // sequence
        "187afca767ca0000", // timestamp, ns since Unix epoch
        "0001",             // event kind: traverse
        "01",
        "0002",
        "7061",
        "0002",
        "6331",
        "00",
        "00000002", // source
        "01",
        "0002",
        "7062",
        "0002",
        "6332",
        "01",
        "00000003", // destination
        "01",
        "1111111111111111111111111111111111111111111111111111111111111111",
        "00", // input
        "01",
        "2222222222222222222222222222222222222222222222222222222222222222", // output binding
        "01",
        "3333333333333333333333333333333333333333333333333333333333333333", // output payload digest
        "01",
        "0002", // outcome: failure, context mismatch
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // prev chain
    );
    let got: String = r
        .encode()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got, expected);
}

/// Record version 3 (docs/formats.md): sealed references (`02`, nonce, tag), a digest
/// reference (`01`), the context presence byte.
#[test]
fn known_answer_encoding_version_3() {
    let ep = Endpoint::new(
        PartitionId::new("pa").unwrap(),
        CellId::new("c1").unwrap(),
        Layer(0),
        KeyVersion(2),
    );
    let r = AuditRecord::new(
        Sequence::new(7),
        Timestamp::from_unix_nanos(1_764_000_000_000_000_000),
        Event::new(EventKind::Traverse)
            .source(ep)
            .input(BlobRef::sealed([0x11; 12], [0x22; 16]))
            .output(BlobRef {
                binding: Binding::Digest([0x33; 32]),
                payload: None,
            })
            .context(Context::new().route(ContextId::new("r").unwrap())),
        ChainValue::from_bytes([0xAA; 32]),
    );
    let expected = concat!(
        "03",               // record version 3
        "0000000000000007", // sequence
        "187afca767ca0000", // timestamp
        "0001",             // traverse
        "01000270610002633100",
        "00000002", // source
        "00",       // no destination
        "02",
        "111111111111111111111111",         // input: sealed, nonce
        "22222222222222222222222222222222", // tag
        "00",                               // no payload digest
        "01",
        "3333333333333333333333333333333333333333333333333333333333333333", // output: digest
        "00",
        "01",                                                               // context present
        "01000172",                                                         // route "r"
        "000000", // no policy, session, actor
        "000000", // success
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // prev chain
    );
    let enc = r.encode().unwrap();
    let got: String = enc.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(got, expected);
    assert_eq!(AuditRecord::decode(&enc).unwrap(), r);
}

/// A log that mixes version-1 records (no context) and version-2 records verifies, and
/// each record decodes back with the version it was written in.
#[test]
fn a_log_mixing_record_versions_verifies() {
    use hexvault_audit::{AuditLog, LogOptions, MemoryLog, RECORD_VERSION, RECORD_VERSION_V1};
    let key = AuditKey::from_bytes([5; 32]);
    let log = MemoryLog::new(LogOptions::keyed(&key)).unwrap();
    log.append(Event::new(EventKind::Seal)).unwrap();
    let ctx = Context::new()
        .route(ContextId::new("a->b").unwrap())
        .policy(ContextId::new("pol").unwrap())
        .actor(ContextId::new("svc").unwrap());
    log.append(Event::new(EventKind::Traverse).context(ctx.clone()))
        .unwrap();
    log.append(Event::new(EventKind::Open)).unwrap();
    let report = log.verify().unwrap();
    assert!(report.failure.is_none(), "{report:?}");
    assert_eq!(report.records, 3);
    let records = log.records().unwrap();
    assert_eq!(records[1].event.context, Some(ctx));
    assert_eq!(records[0].event.context, None);
    assert_eq!(records[0].encode().unwrap()[0], RECORD_VERSION_V1);
    assert_eq!(records[1].encode().unwrap()[0], RECORD_VERSION);
}

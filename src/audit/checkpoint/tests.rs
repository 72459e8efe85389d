use super::*;
use proptest::prelude::*;

const NAME: &str = "pingate.example/audit";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        origin: "pingate.example/audit".into(),
        size: 42,
        root: [7; 32],
        timestamp: 1_760_000_000,
    }
}

fn signed() -> String {
    sign(&checkpoint(), NAME, &key(1)).expect("sign")
}

#[test]
fn round_trip_and_text_form() {
    let text = signed();
    let body = "pingate.example/audit\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntimestamp 1760000000\n";
    let sig_line = text.strip_prefix(body).expect("body first");
    assert!(sig_line.starts_with("\n\u{2014} pingate.example/audit "));
    assert!(sig_line.ends_with('\n'));
    assert_eq!(
        parse_and_verify(&text, NAME, &key(1).verifying_key()),
        Ok(checkpoint())
    );
}

#[test]
fn generated_key_round_trips() {
    let signer = SigningKey::generate(&mut rand::rng());
    let text = sign(&checkpoint(), NAME, &signer).expect("sign");
    let (name, verifier) =
        decode_public_key(&encode_public_key(NAME, &signer.verifying_key()).expect("encode"))
            .expect("decode");
    assert_eq!(name, NAME);
    assert_eq!(parse_and_verify(&text, &name, &verifier), Ok(checkpoint()));
}

/// golang.org/x/mod/sumdb/note's documented example: checks key ids, the
/// verifier key encoding and the signature line byte for byte.
#[test]
fn matches_the_go_sumdb_note_example() {
    let raw = STANDARD
        .decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
        .expect("base64");
    let seed: [u8; 32] = raw[1..].try_into().expect("seed");
    let signer = SigningKey::from_bytes(&seed);
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_eq!(
        encode_public_key("PeterNeumann", &signer.verifying_key()).as_deref(),
        Ok(vkey)
    );
    let (name, verifier) = decode_public_key(vkey).expect("decode");
    assert_eq!(
        (name.as_str(), verifier),
        ("PeterNeumann", signer.verifying_key())
    );

    let text = "If you think cryptography is the answer to your problem,\n\
                then you don't know what your problem is.\n";
    let note = format!(
        "{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    );
    assert_eq!(sign_note(text, "PeterNeumann", &signer), note);
    assert_eq!(open_note(&note, "PeterNeumann", &verifier), Ok(text));
    let tampered = note.replace("cryptography", "cryptographY");
    assert_eq!(
        open_note(&tampered, "PeterNeumann", &verifier),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn tampered_fields_fail() {
    let text = signed();
    let vk = key(1).verifying_key();
    let root_b64 = STANDARD.encode([7u8; 32]);
    let other_root = STANDARD.encode([8u8; 32]);
    let tampered = [
        text.replacen("\n42\n", "\n43\n", 1),
        text.replacen(&root_b64, &other_root, 1),
        text.replacen("pingate.example/audit\n", "pingate.example/audiT\n", 1),
        text.replacen("timestamp 1760000000", "timestamp 1760000001", 1),
    ];
    for t in &tampered {
        assert_ne!(t, &text, "the edit applied");
        assert_eq!(
            parse_and_verify(t, NAME, &vk),
            Err(CheckpointError::BadSignature),
            "{t}"
        );
    }

    // Flip one bit of the signature itself (after the 4-byte key id).
    let (head, blob) = text.trim_end().rsplit_once(' ').expect("signature");
    let mut raw = STANDARD.decode(blob).expect("base64");
    raw[10] ^= 1;
    let forged = format!("{head} {}\n", STANDARD.encode(&raw));
    assert_eq!(
        parse_and_verify(&forged, NAME, &vk),
        Err(CheckpointError::BadSignature)
    );
}

#[test]
fn wrong_key_or_name_fails() {
    let text = signed();
    assert_eq!(
        parse_and_verify(&text, NAME, &key(2).verifying_key()),
        Err(CheckpointError::WrongKeyId)
    );
    assert!(matches!(
        parse_and_verify(&text, "other.example/log", &key(1).verifying_key()),
        Err(CheckpointError::UnknownKey { .. })
    ));
    // Same key under another name: the name is bound into the key id.
    let relabelled = text.replace("\u{2014} pingate.example/audit ", "\u{2014} other ");
    assert_eq!(
        parse_and_verify(&relabelled, "other", &key(1).verifying_key()),
        Err(CheckpointError::WrongKeyId)
    );
}

#[test]
fn malformed_notes_fail() {
    use CheckpointError::*;
    let text = signed();
    let vk = key(1).verifying_key();
    let check = |t: &str| parse_and_verify(t, NAME, &vk);

    assert!(matches!(check(text.trim_end()), Err(MalformedSignature(_))));
    assert_eq!(check(&format!("{text}junk\n")), Err(TrailingData));
    assert_eq!(check(&format!("{text}\n")), Err(TrailingData));
    let line = text.lines().last().expect("signature line");
    assert_eq!(check(&format!("{text}{line}\n")), Err(TrailingData));
    assert_eq!(check(&text.replace('\n', "\r\n")), Err(ControlCharacter));
    assert_eq!(
        check(&text.replacen("\n\n", "\n", 1)),
        Err(MissingSignature)
    );
    assert!(matches!(
        check(&text.replacen('\u{2014}', "-", 1)),
        Err(MalformedSignature(_))
    ));
    assert_eq!(check(""), Err(MissingSignature));
    assert_eq!(
        check("\n\n"),
        Err(MalformedSignature("missing final newline"))
    );
    assert_eq!(
        parse_and_verify(&text, "bad name", &vk),
        Err(InvalidKeyName)
    );
}

/// Bodies that are validly signed but not in canonical checkpoint form.
#[test]
fn malformed_bodies_fail_even_when_signed() {
    let signer = key(1);
    let root = STANDARD.encode([7u8; 32]);
    let bodies = [
        format!("log\n42\n{root}\n"),
        format!("log\n42\n{root}\ntimestamp 1\nextra\n"),
        format!("\n42\n{root}\ntimestamp 1\n"),
        format!("log\n042\n{root}\ntimestamp 1\n"),
        format!("log\n+42\n{root}\ntimestamp 1\n"),
        format!("log\n-1\n{root}\ntimestamp 1\n"),
        format!("log\n18446744073709551616\n{root}\ntimestamp 1\n"),
        format!("log\n42\n{}\ntimestamp 1\n", STANDARD.encode([7u8; 31])),
        "log\n42\nnot base64!\ntimestamp 1\n".to_owned(),
        format!("log\n42\n{root}\ntimestamp -0\n"),
        format!("log\n42\n{root}\ntimestamp  1\n"),
        format!("log\n42\n{root}\ntime 1\n"),
    ];
    for body in &bodies {
        let note = sign_note(body, NAME, &signer);
        assert!(
            matches!(
                parse_and_verify(&note, NAME, &signer.verifying_key()),
                Err(CheckpointError::MalformedBody(_) | CheckpointError::MissingSignature)
            ),
            "{body:?}"
        );
    }
    // A negative timestamp is representable and round-trips.
    let before_1970 = Checkpoint {
        timestamp: -5,
        ..checkpoint()
    };
    let text = sign(&before_1970, NAME, &signer).expect("sign");
    assert_eq!(
        parse_and_verify(&text, NAME, &signer.verifying_key()),
        Ok(before_1970)
    );
}

#[test]
fn sign_refuses_names_and_origins_that_would_not_parse() {
    let signer = key(1);
    for origin in ["", "log\n7", "log\r"] {
        let cp = Checkpoint {
            origin: origin.into(),
            ..checkpoint()
        };
        assert_eq!(
            sign(&cp, NAME, &signer),
            Err(CheckpointError::InvalidOrigin)
        );
    }
    for name in ["", "a b", "a+b", "a\nb", "a\u{00a0}b"] {
        assert_eq!(
            sign(&checkpoint(), name, &signer),
            Err(CheckpointError::InvalidKeyName)
        );
        assert_eq!(
            encode_public_key(name, &signer.verifying_key()),
            Err(CheckpointError::InvalidKeyName)
        );
    }
}

#[test]
fn bad_public_keys_fail() {
    let vk = key(1).verifying_key();
    let good = encode_public_key(NAME, &vk).expect("encode");
    assert_eq!(decode_public_key(&good), Ok((NAME.to_owned(), vk)));
    let (name, rest) = good.split_once('+').expect("name");
    let (id, b64) = rest.split_once('+').expect("id");

    let mut raw = STANDARD.decode(b64).expect("base64");
    raw[0] = 0x02;
    let wrong_alg = format!("{name}+{id}+{}", STANDARD.encode(&raw));
    // The identity point has small order.
    let mut weak = vec![ALG_ED25519, 1];
    weak.resize(33, 0);
    let weak = format!("{name}+{id}+{}", STANDARD.encode(&weak));
    let short = format!("{name}+{id}+{}", STANDARD.encode(&raw[..32]));

    for s in [
        "",
        "name-only",
        "name+c74f20a3",
        &format!("{name}+00000000+{b64}"),
        &format!("{name}+{}+{b64}", &id[..7]),
        &format!("{name}+zzzzzzzz+{b64}"),
        &format!("other+{id}+{b64}"),
        &format!("{name}+{id}+{b64}\n"),
        &format!("{name}+{id}+not-base64"),
        &wrong_alg,
        &weak,
        &short,
    ] {
        assert!(decode_public_key(s).is_err(), "{s:?}");
    }
    assert_eq!(
        decode_public_key(&format!("bad name+{id}+{b64}")),
        Err(CheckpointError::InvalidKeyName)
    );
}

proptest! {
    #[test]
    fn random_checkpoints_round_trip(
        origin in "[^\\p{Cc}]{1,60}",
        name in "[a-zA-Z0-9./_-]{1,30}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        timestamp in any::<i64>(),
        seed in any::<[u8; 32]>(),
    ) {
        let signer = SigningKey::from_bytes(&seed);
        let cp = Checkpoint { origin, size, root, timestamp };
        let text = sign(&cp, &name, &signer).expect("sign");
        let (name2, verifier) = decode_public_key(
            &encode_public_key(&name, &signer.verifying_key()).expect("encode"),
        )
        .expect("decode");
        prop_assert_eq!(&name2, &name);
        prop_assert_eq!(parse_and_verify(&text, &name, &verifier), Ok(cp));
    }
}

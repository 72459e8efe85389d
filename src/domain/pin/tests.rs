use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";
const OTHER_PEPPER: &[u8] = b"fedcba9876543210fedcba9876543210";

fn cheap(pepper: &[u8]) -> PinHasher {
    PinHasher::with_params(pepper, 256, 1, 1).expect("cheap params are valid")
}

fn pin(s: &str) -> Pin {
    Pin::parse_input(s, s.len()).expect("test PIN is valid")
}

/// A "CSPRNG" that replays fixed words, to drive the rejection branch.
struct Scripted(Vec<u32>);

impl rand::TryRng for Scripted {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.0.remove(0))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(u64::from(self.0.remove(0)))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        dst.fill(0);
        Ok(())
    }
}

impl rand::TryCryptoRng for Scripted {}

#[test]
fn generated_digits_are_uniform() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut counts = [0u32; 10];
    // 10,000 ten-digit PINs = 100,000 digits.
    for _ in 0..10_000 {
        let p = Pin::generate(10, &mut rng).expect("valid length");
        for b in p.expose().bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
    }
    let expected = 10_000.0_f64;
    let chi2: f64 = counts
        .iter()
        .map(|&c| (f64::from(c) - expected).powi(2) / expected)
        .sum();
    // 9 degrees of freedom: P(chi2 > 27.88) = 0.001. The seed is fixed, so
    // this is deterministic; the bound documents what "uniform" means.
    assert!(chi2 < 27.88, "chi-square {chi2} for {counts:?}");
}

#[test]
fn draws_in_the_biased_tail_are_rejected() {
    // u32::MAX and DIGIT_LIMIT would map to 5 and 0 under plain modulo.
    let mut rng = Scripted(vec![u32::MAX, DIGIT_LIMIT, 13, 4, 5, 6, 7, 8]);
    let p = Pin::generate(6, &mut rng).expect("valid length");
    assert_eq!(p.expose(), "345678");
}

#[test]
fn only_the_top_six_draws_are_rejected() {
    // 2^32 - 7 is the largest draw kept (a '9'): the 2^32 - 6 below the
    // limit are a multiple of ten. Only the six above are thrown away.
    let mut rng = Scripted(vec![u32::MAX - 6, u32::MAX - 5, 1, 2, 3, 4, 5]);
    let p = Pin::generate(6, &mut rng).expect("valid length");
    assert_eq!(p.expose(), "912345");
}

#[test]
fn generate_accepts_6_to_10_digits_only() {
    let mut rng = StdRng::seed_from_u64(1);
    for len in [6, 7, 10] {
        let p = Pin::generate(len, &mut rng).expect("supported length");
        assert_eq!(p.len(), len);
        assert!(p.expose().bytes().all(|b| b.is_ascii_digit()));
    }
    for len in [0, 5, 11, 100] {
        assert_eq!(
            Pin::generate(len, &mut rng).err(),
            Some(PinError::UnsupportedLength(len))
        );
    }
}

#[test]
fn parse_input_accepts_what_agents_type() {
    for input in [
        "123456",
        "123 456",
        "123-456",
        "  123456\n",
        "1 2 3-4 5 6",
        "\t123 456 ",
    ] {
        let p = Pin::parse_input(input, 6).expect("accepted");
        assert_eq!(p.expose(), "123456", "{input:?}");
    }
    assert_eq!(
        Pin::parse_input("0123456789", 10)
            .expect("accepted")
            .expose(),
        "0123456789"
    );
}

#[test]
fn parse_input_refuses_wrong_lengths_and_non_digits() {
    let wrong = Some(PinError::WrongLength { expected: 6 });
    for input in ["12345", "1234567", "", " - ", &"1".repeat(65)] {
        assert_eq!(Pin::parse_input(input, 6).err(), wrong, "{input:?}");
    }
    for input in [
        "12345a",
        "123.456",
        "１２３４５６",
        "١٢٣٤٥٦",
        "123_456",
        "+123456",
    ] {
        assert_eq!(
            Pin::parse_input(input, 6).err(),
            Some(PinError::NotDigits),
            "{input:?}"
        );
    }
    assert_eq!(
        Pin::parse_input("12345", 5).err(),
        Some(PinError::UnsupportedLength(5))
    );
    assert_eq!(
        Pin::parse_input("12345678901", 11).err(),
        Some(PinError::UnsupportedLength(11))
    );
}

#[test]
fn debug_shows_no_digits() {
    let p = pin("987654");
    assert_eq!(format!("{p:?}"), "Pin(***)");
    assert_eq!(format!("{:?}", Some(&p)), "Some(Pin(***))");
    let hasher = cheap(PEPPER);
    let debug = format!("{hasher:?}");
    assert!(!debug.contains("0123456789abcdef"), "{debug}");
}

#[test]
fn errors_never_echo_the_input() {
    for input in ["98765x", "9876543"] {
        let msg = Pin::parse_input(input, 6).expect_err("refused").to_string();
        assert!(!msg.contains("9876"), "{msg}");
    }
}

#[test]
fn hash_verifies_the_right_pin_only() {
    let hasher = cheap(PEPPER);
    let mut rng = StdRng::seed_from_u64(7);
    let phc = hasher.hash(&pin("123456"), &mut rng).expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
    assert!(!phc.contains("123456"));
    assert!(hasher.verify(&pin("123456"), &phc));
    assert!(!hasher.verify(&pin("123457"), &phc));
    assert!(!hasher.verify(&pin("1234567"), &phc));
}

#[test]
fn salts_differ_between_hashes_of_the_same_pin() {
    let hasher = cheap(PEPPER);
    let mut rng = StdRng::seed_from_u64(8);
    let a = hasher.hash(&pin("123456"), &mut rng).expect("hash");
    let b = hasher.hash(&pin("123456"), &mut rng).expect("hash");
    assert_ne!(a, b);
    assert!(hasher.verify(&pin("123456"), &b));
}

#[test]
fn a_hash_made_with_one_pepper_fails_with_another() {
    let mut rng = StdRng::seed_from_u64(9);
    let phc = cheap(PEPPER).hash(&pin("123456"), &mut rng).expect("hash");
    assert!(!cheap(OTHER_PEPPER).verify(&pin("123456"), &phc));
}

#[test]
fn malformed_or_foreign_hashes_are_false() {
    let hasher = cheap(PEPPER);
    let mut rng = StdRng::seed_from_u64(10);
    let good = hasher.hash(&pin("123456"), &mut rng).expect("hash");
    let p = pin("123456");
    let huge_memory = good.replace("m=256", "m=4000000");
    let huge_time = good.replace("t=1", "t=1000000");
    let argon2i = good.replace("$argon2id$", "$argon2i$");
    let truncated = &good[..good.len() - 10];
    for bad in [
        "",
        "nonsense",
        "$argon2id$",
        "$argon2id$v=19$m=256,t=1,p=1$",
        "$argon2id$v=19$m=1,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
        "$argon2id$v=19$m=256,t=1,p=1$!!!$???",
        "$bcrypt$whatever",
        "$argon2id$v=19$m=256,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g\u{0}",
        huge_memory.as_str(),
        huge_time.as_str(),
        argon2i.as_str(),
        truncated,
    ] {
        assert!(!hasher.verify(&p, bad), "{bad:?}");
    }
}

#[test]
fn dummy_hash_is_valid_and_matches_no_pin() {
    let hasher = cheap(PEPPER);
    let dummy = hasher.dummy_hash();
    assert!(
        dummy.starts_with("$argon2id$v=19$m=256,t=1,p=1$"),
        "{dummy}"
    );
    assert!(PasswordHash::new(dummy).is_ok());
    for s in ["000000", "123456", "999999"] {
        assert!(!hasher.verify(&pin(s), dummy));
    }
}

#[test]
fn pepper_and_params_are_checked_at_construction() {
    assert_eq!(
        PinHasher::with_params(&PEPPER[..31], 256, 1, 1).err(),
        Some(PinError::PepperTooShort)
    );
    assert!(matches!(
        PinHasher::with_params(PEPPER, 1, 1, 1),
        Err(PinError::Params(_))
    ));
    assert!(matches!(
        PinHasher::with_params(PEPPER, 256, 0, 1),
        Err(PinError::Params(_))
    ));
}

#[test]
fn default_params_hash_and_verify() {
    let hasher = PinHasher::new(PEPPER).expect("defaults are valid");
    let mut rng = StdRng::seed_from_u64(11);
    let phc = hasher.hash(&pin("424242"), &mut rng).expect("hash");
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(hasher.verify(&pin("424242"), &phc));
    assert!(!hasher.verify(&pin("424243"), &phc));
    assert!(
        hasher
            .dummy_hash()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
}

#[test]
fn hasher_can_be_shared_with_a_blocking_pool() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<PinHasher>();
    assert_send_sync::<Pin>();
}

/// One workspace serves hashes of different sizes in turn (as a hashing
/// thread's does when stored hashes carry older parameters): what a larger
/// hash left in it never changes a smaller one's result, and it keeps the
/// size of the largest instead of growing per hash.
#[test]
fn a_reused_memory_gives_the_same_hashes_as_a_fresh_one() {
    let small = cheap(PEPPER);
    let large = PinHasher::with_params(PEPPER, 1024, 2, 1).expect("params");
    let mut memory = HashMemory::new();
    let salts = |seed| StdRng::seed_from_u64(seed);
    let big = large
        .hash_in(&mut memory, &pin("123456"), &mut salts(20))
        .expect("hash");
    assert_eq!(memory.kib(), 1024);
    let reused = small
        .hash_in(&mut memory, &pin("123456"), &mut salts(21))
        .expect("hash");
    let fresh = small.hash(&pin("123456"), &mut salts(21)).expect("hash");
    assert_eq!(reused, fresh);
    assert_eq!(
        big,
        large.hash(&pin("123456"), &mut salts(20)).expect("hash")
    );
    for _ in 0..3 {
        assert!(small.verify_in(&mut memory, &pin("123456"), &reused));
        assert!(!small.verify_in(&mut memory, &pin("123457"), &reused));
        assert!(large.verify_in(&mut memory, &pin("123456"), &big));
        // A hash is verified under its own parameters, whoever verifies it.
        assert!(small.verify_in(&mut memory, &pin("123456"), &big));
    }
    assert_eq!(memory.kib(), 1024);
    // A stored hash costlier than the hasher's own parameters is verified
    // in memory of its own: the kept workspace stays at the hasher's size.
    let mut own = HashMemory::new();
    assert!(small.verify_in(&mut own, &pin("123456"), &reused));
    assert_eq!(own.kib(), 256);
    assert!(small.verify_in(&mut own, &pin("123456"), &big));
    assert_eq!(own.kib(), 256);
}

/// Hashes made in a workspace are the ones argon2's own hasher makes, so
/// every hash stored before the workspace existed still verifies.
#[test]
fn workspace_hashes_match_argon2s_own_hasher() {
    use argon2::PasswordHasher;
    let params = Params::new(256, 1, 1, None).expect("params");
    let reference = Argon2::new_with_secret(PEPPER, Algorithm::Argon2id, Version::V0x13, params)
        .expect("argon2");
    let salt = [7u8; 16];
    let stored = reference
        .hash_password_with_salt(b"123456", &salt)
        .expect("hash")
        .to_string();
    let ours = cheap(PEPPER)
        .hash_bytes(&mut HashMemory::new(), b"123456", &salt)
        .expect("hash");
    assert_eq!(ours, stored);
    assert!(cheap(PEPPER).verify_in(&mut HashMemory::new(), &pin("123456"), &stored));
}

#[test]
fn a_pin_is_never_empty() {
    let p = pin("123456");
    assert!(!p.is_empty());
    assert_eq!(p.len(), 6);
}

#[test]
fn typed_input_is_read_up_to_sixty_four_characters() {
    // MAX_INPUT_LEN bounds the whole input, separators included.
    let padded = format!("123 456{}", " ".repeat(MAX_INPUT_LEN - 7));
    assert_eq!(padded.len(), MAX_INPUT_LEN);
    assert_eq!(
        Pin::parse_input(&padded, 6).expect("accepted").expose(),
        "123456"
    );
    let longer = format!("{padded} ");
    assert_eq!(
        Pin::parse_input(&longer, 6).err(),
        Some(PinError::WrongLength { expected: 6 })
    );
}

#[test]
fn hasher_debug_shows_its_parameters_only() {
    assert_eq!(
        format!("{:?}", cheap(PEPPER)),
        "PinHasher { m_kib: 256, t: 1, p: 1, .. }"
    );
}

/// A stored hash at a verify bound is honoured; one step beyond it is
/// refused even though it is otherwise a correct hash of the PIN.
#[test]
fn verify_honours_passes_and_lanes_up_to_their_bounds() {
    let checker = cheap(PEPPER);
    let mut rng = StdRng::seed_from_u64(12);
    let hash_with = |m, t, p, rng: &mut StdRng| {
        PinHasher::with_params(PEPPER, m, t, p)
            .expect("params")
            .hash(&pin("123456"), rng)
            .expect("hash")
    };
    let at_t = hash_with(8, MAX_VERIFY_T, 1, &mut rng);
    assert!(checker.verify(&pin("123456"), &at_t), "{at_t}");
    let beyond_t = hash_with(8, MAX_VERIFY_T + 1, 1, &mut rng);
    assert!(!checker.verify(&pin("123456"), &beyond_t), "{beyond_t}");
    let at_p = hash_with(8 * MAX_VERIFY_P, 1, MAX_VERIFY_P, &mut rng);
    assert!(checker.verify(&pin("123456"), &at_p), "{at_p}");
    let beyond_p = hash_with(8 * (MAX_VERIFY_P + 1), 1, MAX_VERIFY_P + 1, &mut rng);
    assert!(!checker.verify(&pin("123456"), &beyond_p), "{beyond_p}");
}

/// The memory bound, with argon2's own hasher (256 MiB, one pass: about a
/// second): at the bound a correct hash verifies.
#[test]
fn verify_honours_memory_up_to_its_bound() {
    use argon2::PasswordHasher;
    let params = Params::new(MAX_VERIFY_M_KIB, 1, 1, None).expect("params");
    let stored = Argon2::new_with_secret(PEPPER, Algorithm::Argon2id, Version::V0x13, params)
        .expect("argon2")
        .hash_password_with_salt(b"123456", &[3u8; 16])
        .expect("hash")
        .to_string();
    assert!(stored.contains("m=262144,t=1,p=1"), "{stored}");
    assert!(cheap(PEPPER).verify(&pin("123456"), &stored));
}

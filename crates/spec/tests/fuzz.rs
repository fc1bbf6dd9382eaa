//! Fuzz-style tests of the spec parser (proptest; cargo-fuzz needs a nightly toolchain, see
//! docs/reliability.md): arbitrary bytes and structured mutations of the seed corpus
//! (`tests/corpus/spec`). Properties: no panic, every error names the file, and parsing the
//! same text twice gives the same answer. Input sizes are bounded (≤ 16 KiB), so no case can hang
//! on size; the parser's own size limit is checked separately.
//!
//! Case counts are small for the normal test suite; raise them with `PROPTEST_CASES=5000`.

use std::path::PathBuf;

use proptest::prelude::*;

/// `PROPTEST_CASES` when set (a longer local run), else the CI smoke count.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/spec");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    let texts: Vec<String> = files
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(texts.len() >= 5, "the seed corpus is missing");
    texts
}

/// Parses and checks the properties that hold for any input.
fn check(text: &str) {
    let a = entractl_spec::parse_str("fuzz.yaml", text);
    let b = entractl_spec::parse_str("fuzz.yaml", text);
    match (&a, &b) {
        (Ok(x), Ok(y)) => {
            assert_eq!(format!("{:?}", x.spec), format!("{:?}", y.spec));
            // A valid spec survives its own canonical YAML.
            let again = entractl_spec::spec_to_yaml(&x.spec);
            let reparsed = entractl_spec::parse_str("again.yaml", &again);
            assert!(
                reparsed.is_ok(),
                "canonical YAML of a valid spec does not parse:\n{again}"
            );
        }
        (Err(x), Err(y)) => {
            let (sx, sy) = (x.to_string(), y.to_string());
            assert_eq!(sx, sy);
            assert!(!sx.trim().is_empty());
            assert!(
                sx.contains("fuzz.yaml"),
                "the error does not name the file: {sx}"
            );
        }
        _ => panic!("parsing the same text twice disagreed"),
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    Insert(usize, String),
    Indent(usize, usize),
    ReplaceValue(usize, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop_oneof![
        Just("- ".to_string()),
        Just(": ".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!!str ".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("\t".to_string()),
        Just("\u{feff}".to_string()),
        Just("\0".to_string()),
        Just("~".to_string()),
        Just("<<: *a".to_string()),
        "[a-zA-Z0-9 :_.@-]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ];
    let value = prop_oneof![
        Just("null".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("yes".to_string()),
        Just("1e309".to_string()),
        Just("-1".to_string()),
        Just("00000003-0000-0000-c000-000000000000".to_string()),
        "[ -~]{0,40}",
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), token).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (any::<usize>(), 0usize..9).prop_map(|(a, n)| Mutation::Indent(a, n)),
        (any::<usize>(), value).prop_map(|(a, v)| Mutation::ReplaceValue(a, v)),
    ]
}

fn mutate(text: &str, muts: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut s;
    for m in muts {
        if lines.is_empty() {
            lines.push(String::new());
        }
        let n = lines.len();
        match m {
            Mutation::DeleteLine(i) => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) => {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
            Mutation::Truncate(i) => {
                s = lines.join("\n");
                let mut cut = i % (s.len() + 1);
                while !s.is_char_boundary(cut) {
                    cut -= 1;
                }
                s.truncate(cut);
                lines = s.lines().map(str::to_string).collect();
            }
            Mutation::Insert(i, t) => {
                let l = &mut lines[i % n];
                let mut at = i % (l.len() + 1);
                while !l.is_char_boundary(at) {
                    at -= 1;
                }
                l.insert_str(at, t);
            }
            Mutation::Indent(i, k) => {
                let l = lines[i % n].trim_start().to_string();
                lines[i % n] = format!("{}{l}", " ".repeat(*k));
            }
            Mutation::ReplaceValue(i, v) => {
                let l = &mut lines[i % n];
                if let Some(p) = l.find(": ") {
                    l.truncate(p + 2);
                    l.push_str(v);
                }
            }
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(128), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "(?s).{0,2048}") {
        check(&text);
    }

    #[test]
    fn mutated_corpus_specs_never_panic(
        which in any::<usize>(),
        muts in proptest::collection::vec(mutation(), 1..8),
    ) {
        let c = corpus();
        let text = mutate(&c[which % c.len()], &muts);
        prop_assume!(text.len() <= 16 * 1024);
        check(&text);
    }
}

#[test]
fn every_corpus_file_parses_or_fails_cleanly() {
    for text in corpus() {
        check(&text);
    }
    // The examples of the corpus are valid specs.
    let c = corpus();
    for t in &c[..4] {
        assert!(entractl_spec::parse_str("x.yaml", t).is_ok());
    }
}

#[test]
fn oversized_and_deeply_nested_input_is_refused_quickly() {
    let big = "a: b\n".repeat(400_000);
    let e = entractl_spec::parse_str("big.yaml", &big).unwrap_err();
    assert!(e.to_string().contains("big.yaml"));
    // Deep nesting: an error (or a parse), never a stack overflow.
    for depth in [64usize, 512, 4096] {
        check(&format!(
            "version: 1\napp: {}{}",
            "[".repeat(depth),
            "]".repeat(depth)
        ));
        check(&format!(
            "x: {}1{}",
            "{a: ".repeat(depth),
            "}".repeat(depth)
        ));
    }
    // Alias expansion ("billion laughs") stays small.
    let mut laughs = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        laughs.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    check(&laughs);
}

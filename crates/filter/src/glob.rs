//! String comparison and `*` globbing, byte for byte as lttng-ust 2.13's
//! interpreter does them (`stack_strcmp`, `strutils_star_glob_match`).
//!
//! Strings end at their length or at the first NUL byte, whichever comes
//! first. Neither function allocates or recurses.

/// Three-way comparison of two strings with LTTng's rules.
///
/// `a_star`/`b_star` mark a string literal whose trailing `*` was removed:
/// reaching that point counts as equality ("starts with"), for every
/// comparison operator (so `name < "b*"` is false for any name starting
/// with `b`). Differing bytes compare as C `char` on x86-64, that is as
/// *signed* bytes: a UTF-8 byte (0x80 and above) sorts before ASCII.
pub(crate) fn lttng_strcmp(a: &[u8], a_star: bool, b: &[u8], b_star: bool) -> i32 {
    // First position where the strings differ or one of them ends (NUL).
    let n = a.len().min(b.len());
    let i = a[..n]
        .iter()
        .zip(&b[..n])
        .position(|(&x, &y)| x != y || x == 0)
        .unwrap_or(n);
    let ca = a.get(i).copied().filter(|&c| c != 0);
    let cb = b.get(i).copied().filter(|&c| c != 0);
    match (ca, cb) {
        (None, None) => 0,
        (None, Some(_)) => {
            if a_star {
                0
            } else {
                -1
            }
        }
        (Some(_), None) => {
            if b_star {
                0
            } else {
                1
            }
        }
        (Some(x), Some(y)) => i32::from(x as i8) - i32::from(y as i8),
    }
}

/// Whether `candidate` matches the star-glob `pattern` (`*` matches any run
/// of bytes, `\*` a literal star, `\\` a backslash; no other wildcard).
///
/// LTTng's algorithm: on a mismatch after a star, retry one candidate byte
/// further from just after the most recent star. The retry position only
/// moves forward, so this ends in at most `len(candidate) * len(pattern)`
/// steps.
pub(crate) fn glob_match(pattern: &[u8], candidate: &[u8]) -> bool {
    let p = until_nul(pattern);
    let c = until_nul(candidate);
    let mut retry_c = 0;
    let mut retry_p = 0;
    let mut got_star = false;
    'retry: loop {
        let mut ci = retry_c;
        let mut pi = retry_p;
        while ci < c.len() {
            let mut mismatch = pi >= p.len();
            if !mismatch {
                match p[pi] {
                    b'*' => {
                        got_star = true;
                        retry_c = ci;
                        retry_p = pi + 1;
                        if retry_p >= p.len() {
                            return true;
                        }
                        continue 'retry;
                    }
                    b'\\' => {
                        pi += 1;
                        mismatch = pi >= p.len() || c[ci] != p[pi];
                    }
                    pc => mismatch = c[ci] != pc,
                }
            }
            if mismatch {
                if !got_star {
                    return false;
                }
                retry_c += 1;
                continue 'retry;
            }
            ci += 1;
            pi += 1;
        }
        // Candidate exhausted: only a final star may remain.
        return pi >= p.len() || (p[pi] == b'*' && pi + 1 == p.len());
    }
}

fn until_nul(s: &[u8]) -> &[u8] {
    match s.iter().position(|&c| c == 0) {
        Some(n) => &s[..n],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match(b"*a", b"alpha"));
        assert!(glob_match(b"*a", b"a"));
        assert!(!glob_match(b"*a", b"beta_"));
        assert!(glob_match(b"al*", b"alpha"));
        assert!(glob_match(b"a*p*a", b"alpha"));
        assert!(glob_match(b"hi*every*one", b"hi ev every onyx one"));
        assert!(!glob_match(b"hi*every*one", b"hi ev every onyx on"));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"a\\*b*", b"a*bc"));
        assert!(!glob_match(b"a\\*b*", b"axbc"));
        assert!(glob_match(b"*.log", b"x.log\0junk"));
        assert!(!glob_match(b"", b"x"));
        assert!(glob_match(b"", b""));
        let long = vec![b'a'; 4000];
        assert!(!glob_match(b"*a*a*a*a*b", &long));
    }

    #[test]
    fn strcmp_with_star_and_signed_chars() {
        assert_eq!(lttng_strcmp(b"alpha", false, b"alpha", false), 0);
        assert!(lttng_strcmp(b"alpha", false, b"beta", false) < 0);
        assert_eq!(lttng_strcmp(b"beta", false, b"b", true), 0);
        assert_eq!(lttng_strcmp(b"b", false, b"b", true), 0);
        assert!(lttng_strcmp(b"a", false, b"b", true) < 0);
        assert!(lttng_strcmp(b"ab", false, b"abc", false) < 0);
        assert!(lttng_strcmp(b"ab\0zz", false, b"ab", false) == 0);
        // 0xC3 is negative as a C char on x86-64.
        assert!(lttng_strcmp("é".as_bytes(), false, b"a", false) < 0);
    }
}

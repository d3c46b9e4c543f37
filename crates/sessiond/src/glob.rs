//! LTTng event-name globs: `*` matches any run of characters (also empty),
//! `\*` a literal star, `\\` a backslash; everything else matches itself.

/// Whether `name` matches `pattern`.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    // Tokens: Some(c) = literal character, None = star.
    let mut toks: Vec<Option<char>> = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Some(chars.next().unwrap_or('\\'))),
            '*' => toks.push(None),
            c => toks.push(Some(c)),
        }
    }
    let name: Vec<char> = name.chars().collect();
    // Classic linear-time wildcard matching with one backtrack point.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match toks.get(p) {
            Some(Some(c)) if *c == name[n] => {
                p += 1;
                n += 1;
            }
            Some(None) => {
                star = Some((p, n));
                p += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(Option::is_none)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("*", "demo:one_int"));
        assert!(glob_match("demo:*", "demo:one_int"));
        assert!(!glob_match("demo:*", "lab:one_int"));
        assert!(glob_match("*:one_*", "demo:one_int"));
        assert!(glob_match("demo:one_int", "demo:one_int"));
        assert!(!glob_match("demo:one", "demo:one_int"));
        assert!(glob_match(r"a\*b", "a*b"));
        assert!(!glob_match(r"a\*b", "axb"));
        assert!(glob_match("a**b", "ab"));
    }
}

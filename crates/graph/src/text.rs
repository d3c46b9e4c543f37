//! Value formatting shared by the text sinks: C's `%g`, babeltrace2's
//! string escaping, integers in their preferred base.

use ltt_ctf::metadata::DisplayBase;

/// Appends a value of a single- or double-precision field like C's
/// `printf("%g", (double) v)`. When the shortest representation of the
/// value (in its own precision) has at most 6 significant digits, those
/// are the digits `%g` prints (the value lies far closer to them than half
/// a 6-digit step), so the slow exact formatting is skipped.
pub fn push_g_field(out: &mut Vec<u8>, v: f64, single: bool) {
    use std::io::Write;
    // Subnormals carry too few bits for the argument: exact path.
    let normal = if single {
        (v as f32).is_normal()
    } else {
        v.is_normal()
    };
    if normal && !(v.fract() == 0.0 && v.abs() < 1e6) {
        if let Some((digits, x)) = dyadic_g_digits(v.abs()) {
            push_g_digits(out, v < 0.0, digits.as_slice(), x);
            return;
        }
        let mut buf = [0u8; 48];
        let n = {
            let mut c = std::io::Cursor::new(&mut buf[..]);
            let _ = if single {
                write!(c, "{:e}", v as f32)
            } else {
                write!(c, "{v:e}")
            };
            c.position() as usize
        };
        let text = std::str::from_utf8(&buf[..n]).unwrap_or("");
        if let Some((mantissa, exp)) = text.split_once('e') {
            let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
            if let (true, Ok(x)) = (digits.len() <= 6, exp.parse::<i32>()) {
                push_g_digits(out, v < 0.0, &digits, x);
                return;
            }
        }
    }
    push_g(out, v);
}

/// Up to six decimal digits, inline.
struct Digits {
    buf: [u8; 6],
    len: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// The `%g` digits and decimal exponent of a positive finite `v` that is
/// `n / 2^k` for an integer `n` and a small `k` (most trace values: whole
/// numbers, binary fractions): its exact decimal value is `n * 5^k /
/// 10^k`, an integer computation, rounded to 6 significant digits with
/// ties to even as printf does. `None` for other values.
fn dyadic_g_digits(v: f64) -> Option<(Digits, i32)> {
    let bits = v.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 || exp == 0x7ff {
        return None;
    }
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let tz = mantissa.trailing_zeros();
    let (n, e) = (mantissa >> tz, exp - 1075 + tz as i32);
    // The exact value is m * 10^-k, m an integer below 2^128.
    let (m, k) = if e >= 0 {
        (u128::from(n).checked_shl(e as u32).filter(|_| e < 64)?, 0)
    } else {
        let k = (-e) as u32;
        (u128::from(n).checked_mul(5u128.checked_pow(k)?)?, k)
    };
    let d = m.checked_ilog10()? + 1;
    let (mut q, mut x) = (m, d as i32 - 1 - k as i32);
    if d > 6 {
        let unit = 10u128.pow(d - 6);
        let (r, half) = (m % unit, unit / 2);
        q = m / unit;
        if r > half || (r == half && q % 2 == 1) {
            q += 1;
            if q == 1_000_000 {
                q = 100_000;
                x += 1;
            }
        }
    }
    let mut itoa = itoa::Buffer::new();
    let text = itoa.format(q as u32).as_bytes();
    let mut digits = Digits {
        buf: [0; 6],
        len: text.len(),
    };
    digits.buf[..text.len()].copy_from_slice(text);
    Some((digits, x))
}

/// `%g` output for significant `digits` (no trailing zeros needed) and
/// decimal exponent `x` of the first digit.
fn push_g_digits(out: &mut Vec<u8>, negative: bool, digits: &[u8], x: i32) {
    let mut digits = digits;
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits = &digits[..digits.len() - 1];
    }
    if negative {
        out.push(b'-');
    }
    if (-4..6).contains(&x) {
        if x < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-x - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
        } else {
            let int_len = x as usize + 1;
            for i in 0..int_len {
                out.push(*digits.get(i).unwrap_or(&b'0'));
            }
            if digits.len() > int_len {
                out.push(b'.');
                out.extend_from_slice(&digits[int_len..]);
            }
        }
    } else {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        let e = x.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        push_u64(out, e as u64);
    }
}

/// Appends `v` formatted like C's `printf("%g", v)`, without allocating.
pub fn push_g(out: &mut Vec<u8>, v: f64) {
    use std::io::Write;
    if v.is_nan() {
        out.extend_from_slice(if v.is_sign_negative() {
            b"-nan"
        } else {
            b"nan"
        });
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v < 0.0 { b"-inf" } else { b"inf" });
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    const P: i32 = 6;
    // Whole numbers below 10^6 print as themselves (the common case).
    if v.fract() == 0.0 && v.abs() < 1e6 {
        if v < 0.0 {
            out.push(b'-');
        }
        push_u64(out, v.abs() as u64);
        return;
    }
    // The exponent after rounding to P significant digits.
    let mut sci = [0u8; 40];
    let n = {
        let mut c = std::io::Cursor::new(&mut sci[..]);
        let _ = write!(c, "{:.*e}", (P - 1) as usize, v);
        c.position() as usize
    };
    let sci = std::str::from_utf8(&sci[..n]).unwrap_or("0e0");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let x: i32 = exp.parse().unwrap_or(0);
    if (-4..P).contains(&x) {
        let mut fixed = [0u8; 48];
        let n = {
            let mut c = std::io::Cursor::new(&mut fixed[..]);
            let _ = write!(c, "{:.*}", (P - 1 - x) as usize, v);
            c.position() as usize
        };
        let fixed = std::str::from_utf8(&fixed[..n]).unwrap_or("0");
        out.extend_from_slice(trim_zeros(fixed).as_bytes());
    } else {
        out.extend_from_slice(trim_zeros(mantissa).as_bytes());
        out.push(b'e');
        out.push(if x < 0 { b'-' } else { b'+' });
        let e = x.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        push_u64(out, e as u64);
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Appends `bytes` as a double-quoted string escaped like babeltrace2
/// (C locale: bytes >= 0x80 pass through).
pub fn push_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'?' => out.extend_from_slice(b"\\?"),
            0 => out.extend_from_slice(b"\\0"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x1b => out.extend_from_slice(b"\\e"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x0b => out.extend_from_slice(b"\\v"),
            c if c < 0x20 || c == 0x7f => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[
                    b'\\',
                    b'x',
                    HEX[(c >> 4) as usize],
                    HEX[(c & 15) as usize],
                ]);
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

/// Appends a terminal color code: nothing without colors, and then no
/// `memcpy` call either (for an empty slice it is still made).
#[inline(always)]
pub fn push_code(out: &mut Vec<u8>, code: &str) {
    if !code.is_empty() {
        out.extend_from_slice(code.as_bytes());
    }
}

/// Appends an unsigned decimal. The digits are written into a fixed-size
/// block that is appended whole then cut to length: a length-dependent
/// copy would be a `memcpy` call, as costly as the formatting.
#[inline]
pub fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    // Digits from the bit length (log10(2) ~ 1233/4096), corrected by
    // one comparison: `ilog10` is a loop.
    const POW10: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    let t = (((64 - (v | 1).leading_zeros()) * 1233) >> 12) as usize;
    let n = t + 1 - usize::from((v | 1) < POW10[t]);
    let mut buf = [0u8; 20];
    let mut i = n;
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&PAIRS[r..r + 2]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        buf[..2].copy_from_slice(&PAIRS[r..r + 2]);
    } else {
        buf[0] = b'0' + v as u8;
    }
    let len = out.len();
    out.extend_from_slice(&buf);
    out.truncate(len + n);
}

/// Appends a signed decimal.
#[inline]
pub fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `0x` and `v` in upper-case hexadecimal (`%#llX`, but `0x0`
/// for zero), without the formatting machinery.
#[inline]
fn push_hex(out: &mut Vec<u8>, mut v: u64) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 18];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = HEX[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    i -= 2;
    buf[i..i + 2].copy_from_slice(b"0x");
    out.extend_from_slice(&buf[i..]);
}

/// Appends `raw` (the field's bits, sign-extended when signed) in the
/// field's preferred base, as babeltrace2's pretty printer does.
pub fn push_int(out: &mut Vec<u8>, raw: u64, signed: bool, size: u32, base: DisplayBase) {
    use std::io::Write;
    match base {
        DisplayBase::Decimal => {
            if signed {
                push_i64(out, raw as i64)
            } else {
                push_u64(out, raw)
            }
        }
        DisplayBase::Hexadecimal => {
            let mut v = raw;
            if size < 64 {
                let rounded = (size + 3) & !3;
                if rounded < 64 {
                    v &= (1u64 << rounded) - 1;
                }
            }
            push_hex(out, v);
        }
        DisplayBase::Octal => {
            let mut v = raw;
            if signed && size < 64 {
                let rounded = ((size - 1) / 3 + 1) * 3;
                if rounded < 64 {
                    v &= (1u64 << rounded) - 1;
                }
            }
            let _ = write!(out, "0{v:o}");
        }
        DisplayBase::Binary => {
            out.extend_from_slice(b"0b");
            for bit in (0..size).rev() {
                out.push(if (raw >> bit) & 1 == 1 { b'1' } else { b'0' });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(v: f64) -> String {
        let mut o = Vec::new();
        push_g(&mut o, v);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn percent_g_matches_c() {
        assert_eq!(g(2.75), "2.75");
        assert_eq!(g(1e6), "1e+06");
        assert_eq!(g(-0.5), "-0.5");
        assert_eq!(g(9.99995e-41), "9.99995e-41");
        assert_eq!(g(1.7976931348623157e308), "1.79769e+308");
        assert_eq!(g(499997.0), "499997");
        assert_eq!(g(333333.3333), "333333");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(123456.5), "123456");
        assert_eq!(g(999999.5), "1e+06");
        assert_eq!(g(-0.0), "-0");
        assert_eq!(g(f64::INFINITY), "inf");
        assert_eq!(g(100.0), "100");
    }

    #[test]
    fn shortest_digits_path_matches_exact_formatting() {
        let mut rng = 0x1234_5678_9abc_def0u64;
        for _ in 0..200_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let scale = 10f64.powi((rng % 40) as i32 - 20);
            let short = ((rng >> 8) % 2_000_000) as f64 / 1000.0 - 1000.0;
            for (v, single) in [
                (short * scale, false),
                (f64::from_bits(rng), false),
                ((short * scale) as f32 as f64, true),
                (f32::from_bits(rng as u32) as f64, true),
            ] {
                let (mut fast, mut exact) = (Vec::new(), Vec::new());
                push_g_field(&mut fast, v, single);
                push_g(&mut exact, v);
                assert_eq!(fast, exact, "{v:e} single={single}");
            }
        }
    }

    /// Binary fractions and large whole numbers (the exact integer path)
    /// print as the exact formatting does, ties to even included.
    #[test]
    fn dyadic_values_match_exact_formatting() {
        let mut rng = 0x0fed_cba9_8765_4321u64;
        for i in 0..200_000u64 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let k = (rng % 40) as i32;
            let n = (rng >> 16) % [1 << 10, 1 << 24, 1 << 53][(i % 3) as usize];
            let v = n as f64 / 2f64.powi(k) * if rng & 1 == 0 { 1.0 } else { -1.0 };
            let big = (rng >> 11) as f64 * 2f64.powi((rng % 20) as i32);
            for (v, single) in [(v, false), (v as f32 as f64, true), (big, false)] {
                let (mut fast, mut exact) = (Vec::new(), Vec::new());
                push_g_field(&mut fast, v, single);
                push_g(&mut exact, v);
                assert_eq!(fast, exact, "{v:e} single={single}");
            }
        }
        let mut o = Vec::new();
        push_g_field(&mut o, 1252.125, false);
        assert_eq!(o, b"1252.12");
    }

    #[test]
    fn decimals() {
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut values = vec![0, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, i64::MAX as u64];
        for _ in 0..10_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            values.push(rng >> (rng % 64));
        }
        for v in values {
            let mut o = b"x".to_vec();
            push_u64(&mut o, v);
            assert_eq!(o, format!("x{v}").as_bytes());
            for s in [v as i64, i64::MIN, -(v as i64 % 1000)] {
                let mut o = Vec::new();
                push_i64(&mut o, s);
                assert_eq!(o, s.to_string().as_bytes());
            }
        }
    }

    #[test]
    fn hex() {
        for v in [0u64, 1, 0xABC, u64::MAX, 0x7F03] {
            let mut o = Vec::new();
            push_int(&mut o, v, false, 64, DisplayBase::Hexadecimal);
            assert_eq!(o, format!("0x{v:X}").as_bytes());
        }
    }

    #[test]
    fn escapes() {
        let mut o = Vec::new();
        push_escaped(&mut o, b"a\tb\n\"\\?\x7f\x01\xc3\xa9");
        assert_eq!(o, b"\"a\\tb\\n\\\"\\\\\\?\\x7f\\x01\xc3\xa9\"");
    }

    #[test]
    fn bases() {
        let mut o = Vec::new();
        push_int(&mut o, -1i64 as u64, true, 8, DisplayBase::Hexadecimal);
        assert_eq!(o, b"0xFF");
        o.clear();
        push_int(&mut o, 5, false, 4, DisplayBase::Binary);
        assert_eq!(o, b"0b0101");
        o.clear();
        push_int(&mut o, -1i64 as u64, true, 8, DisplayBase::Octal);
        assert_eq!(o, b"0777");
    }
}

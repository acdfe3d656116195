//! GF(256) with the Rijndael polynomial x^8 + x^4 + x^3 + x + 1, in constant time.
//!
//! Share bytes are secret, so multiplication runs the same operations whatever its
//! operands (no log/exp tables, whose lookups would depend on the secret), and the
//! inverse is `a^254`. Only indices (public) are inverted.

/// Product of `a` and `b`: eight conditional-by-mask add-and-double steps.
pub(crate) const fn mul(a: u8, b: u8) -> u8 {
    let mut a = a;
    let mut b = b;
    let mut product = 0_u8;
    let mut i = 0;
    while i < 8 {
        // All ones when the low bit of b is set.
        product ^= a & 0_u8.wrapping_sub(b & 1);
        // Reduce by 0x1B when the high bit of a shifts out.
        let carry = 0_u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (0x1B & carry);
        b >>= 1;
        i += 1;
    }
    product
}

/// Inverse of `a` (`a^254`; the inverse of 0 is 0, never asked for: indices differ).
pub(crate) const fn inv(a: u8) -> u8 {
    // a^254 = a^(2+4+8+16+32+64+128)
    let mut result = 1_u8;
    let mut power = a;
    let mut i = 0;
    while i < 7 {
        power = mul(power, power);
        result = mul(result, power);
        i += 1;
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_laws() {
        assert_eq!(mul(0x57, 0x83), 0xC1); // FIPS-197 §4.2
        assert_eq!(mul(0x57, 0x13), 0xFE);
        for a in 0..=255_u8 {
            assert_eq!(mul(a, 1), a);
            assert_eq!(mul(a, 0), 0);
            if a != 0 {
                assert_eq!(mul(a, inv(a)), 1, "{a}");
            }
            for b in [0x02_u8, 0x53, 0xCA, 0xFF] {
                assert_eq!(mul(a, b), mul(b, a));
            }
        }
    }
}

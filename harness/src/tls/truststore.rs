//! The harness CA as a Java trust store: byte for byte the unprotected PKCS#12 `keytool` writes.

// Written here: p12-keystore always encrypts and MACs, and no JDK is needed.

/// The entry's alias (its `friendlyName`), lower case as keytool stores aliases.
pub const ALIAS: &str = "tls-session-cost-ca";

// DER tags.
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const BMP_STRING: u8 = 0x1e;
const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
/// `[0] EXPLICIT`, constructed.
const CONTEXT_0: u8 = 0xa0;

// Object identifiers, DER content bytes.
/// 1.2.840.113549.1.7.1, PKCS#7 `data`.
const OID_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
/// 1.2.840.113549.1.12.10.1.3, PKCS#12 `certBag`.
const OID_CERT_BAG: &[u8] = &[
    0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x0a, 0x01, 0x03,
];
/// 1.2.840.113549.1.9.22.1, PKCS#9 `x509Certificate`.
const OID_X509: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x16, 0x01];
/// 1.2.840.113549.1.9.20, PKCS#9 `friendlyName`: the JVM's alias.
const OID_FRIENDLY_NAME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x14];
/// 2.16.840.1.113894.746875.1.1, Oracle's trusted key usage: makes the bag a trusted entry.
const OID_TRUSTED_KEY_USAGE: &[u8] = &[
    0x60, 0x86, 0x48, 0x01, 0x86, 0xf9, 0x66, 0xad, 0xca, 0x7b, 0x01, 0x01,
];
/// 2.5.29.37.0, `anyExtendedKeyUsage`: trusted for every purpose, as keytool marks it.
const OID_ANY_EXTENDED_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25, 0x00];

/// The PKCS#12 file holding `cert_der` (X.509, DER) as the trusted certificate entry [`ALIAS`].
pub fn pkcs12(cert_der: &[u8]) -> Vec<u8> {
    let alias: Vec<u8> = ALIAS.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let attributes = tlv(
        SET,
        &[
            &tlv(
                SEQUENCE,
                &[
                    &tlv(OID, &[OID_FRIENDLY_NAME]),
                    &tlv(SET, &[&tlv(BMP_STRING, &[&alias])]),
                ],
            ),
            &tlv(
                SEQUENCE,
                &[
                    &tlv(OID, &[OID_TRUSTED_KEY_USAGE]),
                    &tlv(SET, &[&tlv(OID, &[OID_ANY_EXTENDED_KEY_USAGE])]),
                ],
            ),
        ],
    );
    let cert_bag = tlv(
        SEQUENCE,
        &[
            &tlv(OID, &[OID_X509]),
            &tlv(CONTEXT_0, &[&tlv(OCTET_STRING, &[cert_der])]),
        ],
    );
    let safe_bag = tlv(
        SEQUENCE,
        &[
            &tlv(OID, &[OID_CERT_BAG]),
            &tlv(CONTEXT_0, &[&cert_bag]),
            &attributes,
        ],
    );
    let safe_contents = tlv(SEQUENCE, &[&safe_bag]);
    let authenticated_safe = tlv(SEQUENCE, &[&data(&safe_contents)]);
    tlv(
        SEQUENCE,
        &[&tlv(INTEGER, &[&[3]]), &data(&authenticated_safe)],
    )
}

/// A PKCS#7 `ContentInfo` of type `data` holding `content`.
fn data(content: &[u8]) -> Vec<u8> {
    tlv(
        SEQUENCE,
        &[
            &tlv(OID, &[OID_DATA]),
            &tlv(CONTEXT_0, &[&tlv(OCTET_STRING, &[content])]),
        ],
    )
}

/// One DER value: `tag`, the definite length of the parts (short form below 128), the parts.
fn tlv(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 10);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// keytool's own file for the same certificate: JDK 17.0.15, `keytool -importcert
    /// -noprompt -storetype pkcs12 -alias tls-session-cost-ca -file ca.pem -keystore ca.p12
    /// -storepass changeit -J-Dkeystore.pkcs12.certProtectionAlgorithm=NONE
    /// -J-Dkeystore.pkcs12.macAlgorithm=NONE` (the password is unused when nothing is
    /// protected). `harness/tests/exec_java.rs` also has the installed JDK's keytool read
    /// and write one.
    #[test]
    fn is_byte_for_byte_what_keytool_writes() {
        let cert = include_bytes!("../../tests/fixtures/truststore/ca.der");
        let keytool = include_bytes!("../../tests/fixtures/truststore/ca.p12");
        assert_eq!(pkcs12(cert), keytool.to_vec());
    }

    #[test]
    fn lengths_take_the_short_form_below_128_and_the_long_form_from_it() {
        assert_eq!(tlv(OCTET_STRING, &[]), [0x04, 0x00]);
        assert_eq!(tlv(OCTET_STRING, &[&[7; 0x7f]])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(OCTET_STRING, &[&[7; 0x80]])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(OCTET_STRING, &[&[7; 0xff]])[..3], [0x04, 0x81, 0xff]);
        assert_eq!(
            tlv(OCTET_STRING, &[&[7; 0x100]])[..4],
            [0x04, 0x82, 0x01, 0x00]
        );
        let big = tlv(OCTET_STRING, &[&[7; 0x1_0000], &[8]]);
        assert_eq!(big[..5], [0x04, 0x83, 0x01, 0x00, 0x01]);
        assert_eq!(big.len(), 5 + 0x1_0001);
    }
}

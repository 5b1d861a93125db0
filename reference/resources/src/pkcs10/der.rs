//! The DER walk of a PKCS#10 request (RFC 2986) with yasna: the parts
//! [`super::Csr`] holds, and the subjectAltName of its extension request.

use std::net::IpAddr;

use yasna::{ASN1Error, ASN1ErrorKind, BERReader, Tag};

use super::{Csr, KeyAlgorithm, NameAttribute};

const OID_EXTENSION_REQUEST: &[u64] = &[1, 2, 840, 113549, 1, 9, 14];
const OID_SAN: &[u64] = &[2, 5, 29, 17];

fn invalid() -> ASN1Error {
    ASN1Error::new(ASN1ErrorKind::Invalid)
}

pub(super) fn parse(der: &[u8]) -> Result<Csr, ASN1Error> {
    let (info_der, signature_algorithm, signature) = yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let info = r.next().read_der()?;
            let alg = r.next().read_sequence(|r| {
                let oid = r.next().read_oid()?;
                // Parameters (NULL for RSA, absent for ECDSA and Ed25519).
                r.read_optional(|r| r.read_der())?;
                Ok(oid.components().clone())
            })?;
            let (sig, _) = r.next().read_bitvec_bytes()?;
            Ok((info, alg, sig))
        })
    })?;
    let mut csr = Csr {
        info_der: info_der.clone(),
        subject: Vec::new(),
        key_algorithm: KeyAlgorithm::Rsa,
        public_key: Vec::new(),
        signature_algorithm,
        signature,
        dns_names: Vec::new(),
        ip_addresses: Vec::new(),
        email_addresses: Vec::new(),
        uris: Vec::new(),
    };
    yasna::parse_der(&info_der, |r| {
        r.read_sequence(|r| {
            if r.next().read_u32()? != 0 {
                return Err(invalid());
            }
            csr.subject = read_name(r.next())?;
            let (alg, key) = read_spki(r.next())?;
            csr.key_algorithm = alg;
            csr.public_key = key;
            r.next().read_tagged_implicit(Tag::context(0), |r| {
                r.read_set_of(|r| read_attribute(r, &mut csr))
            })?;
            Ok(())
        })
    })?;
    Ok(csr)
}

fn read_name(r: BERReader<'_, '_>) -> Result<Vec<NameAttribute>, ASN1Error> {
    let mut out = Vec::new();
    r.read_sequence_of(|r| {
        r.read_set_of(|r| {
            r.read_sequence(|r| {
                let oid = r.next().read_oid()?.components().clone();
                let v = r.next().read_tagged_der()?;
                let value = String::from_utf8(v.value().to_vec()).map_err(|_| invalid())?;
                out.push(NameAttribute {
                    oid,
                    tag: v.tag().tag_number,
                    value,
                });
                Ok(())
            })
        })
    })?;
    Ok(out)
}

fn read_spki(r: BERReader<'_, '_>) -> Result<(KeyAlgorithm, Vec<u8>), ASN1Error> {
    r.read_sequence(|r| {
        let alg = r.next().read_sequence(|r| {
            let oid = r.next().read_oid()?.components().clone();
            let param = r.read_optional(|r| r.read_der())?;
            let curve = match &param {
                Some(p) if p.first() == Some(&0x06) => {
                    Some(yasna::parse_der(p, |r| r.read_oid())?.components().clone())
                }
                _ => None,
            };
            match (oid.as_slice(), curve.as_deref()) {
                ([1, 2, 840, 113549, 1, 1, 1], _) => Ok(KeyAlgorithm::Rsa),
                ([1, 2, 840, 10045, 2, 1], Some([1, 2, 840, 10045, 3, 1, 7])) => {
                    Ok(KeyAlgorithm::EcdsaP256)
                }
                ([1, 2, 840, 10045, 2, 1], Some([1, 3, 132, 0, 34])) => Ok(KeyAlgorithm::EcdsaP384),
                ([1, 3, 101, 112], _) => Ok(KeyAlgorithm::Ed25519),
                _ => Err(ASN1Error::new(ASN1ErrorKind::Invalid)),
            }
        })?;
        let (key, _) = r.next().read_bitvec_bytes()?;
        Ok((alg, key))
    })
}

fn read_attribute(r: BERReader<'_, '_>, csr: &mut Csr) -> Result<(), ASN1Error> {
    r.read_sequence(|r| {
        let oid = r.next().read_oid()?.components().clone();
        r.next().read_set_of(|r| {
            if oid != OID_EXTENSION_REQUEST {
                r.read_der()?;
                return Ok(());
            }
            r.read_sequence_of(|r| {
                r.read_sequence(|r| {
                    let ext = r.next().read_oid()?.components().clone();
                    r.read_optional(|r| r.read_bool())?;
                    let value = r.next().read_bytes()?;
                    if ext == OID_SAN {
                        read_san(&value, csr)?;
                    }
                    Ok(())
                })
            })
        })
    })
}

fn read_san(der: &[u8], csr: &mut Csr) -> Result<(), ASN1Error> {
    yasna::parse_der(der, |r| {
        r.read_sequence_of(|r| {
            let v = r.read_tagged_der()?;
            let text = || String::from_utf8(v.value().to_vec()).map_err(|_| invalid());
            match v.tag().tag_number {
                1 => csr.email_addresses.push(text()?),
                2 => csr.dns_names.push(text()?),
                6 => csr.uris.push(text()?),
                7 => {
                    let ip = match v.value().len() {
                        4 => <[u8; 4]>::try_from(v.value()).map(IpAddr::from).ok(),
                        16 => <[u8; 16]>::try_from(v.value()).map(IpAddr::from).ok(),
                        _ => None,
                    };
                    csr.ip_addresses.push(ip.ok_or_else(invalid)?);
                }
                _ => {}
            }
            Ok(())
        })
    })
}

/// The subject and `notAfter` (Unix seconds) of a DER X.509 certificate.
pub(super) fn certificate(der: &[u8]) -> Result<(Vec<NameAttribute>, i64), ASN1Error> {
    yasna::parse_der(der, |r| {
        r.read_sequence(|r| {
            let out = r.next().read_sequence(|r| {
                r.read_optional(|r| r.read_tagged(Tag::context(0), |r| r.read_der()))?;
                r.next().read_der()?; // serialNumber
                r.next().read_der()?; // signature
                r.next().read_der()?; // issuer
                let not_after = r.next().read_sequence(|r| {
                    r.next().read_tagged_der()?;
                    let t = r.next().read_tagged_der()?;
                    asn1_time(t.tag().tag_number, t.value()).ok_or_else(invalid)
                })?;
                let subject = read_name(r.next())?;
                r.next().read_der()?; // subjectPublicKeyInfo
                for _ in 0..3 {
                    r.read_optional(|r| r.read_der())?;
                }
                Ok((subject, not_after))
            })?;
            r.next().read_der()?;
            r.next().read_der()?;
            Ok(out)
        })
    })
}

/// UTCTime (`YYMMDDHHMMSSZ`, 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
fn asn1_time(tag: u64, value: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(value).ok()?;
    let full = match (tag, s.len()) {
        (23, 13) => {
            let yy: i32 = s.get(..2)?.parse().ok()?;
            format!("{}{s}", if yy < 50 { "20" } else { "19" })
        }
        (24, 15) => s.to_string(),
        _ => return None,
    };
    chrono::NaiveDateTime::parse_from_str(full.trim_end_matches('Z'), "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc().timestamp())
}

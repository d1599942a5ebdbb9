//! The credential vault: AES-256-GCM with a fresh random 96-bit nonce per encryption, associated
//! data binding each ciphertext to its integration, and a key id so rotated keys stay readable.
//!
//! Stored format: `version (1 B) || key id (4 B) || nonce (12 B) || ciphertext || tag (16 B)`.

use std::fmt;

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, KeyInit};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};

const FORMAT_VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    #[error("the stored secret is not in a known format")]
    Malformed,
    #[error("the stored secret was encrypted with a key that is not configured (key id {0})")]
    UnknownKey(String),
    #[error("the stored secret cannot be decrypted (wrong key, tampered data or wrong record)")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// A key and its id (first 4 bytes of its SHA-256, so ids never reveal the key).
struct VaultKey {
    id: [u8; KEY_ID_LEN],
    cipher: Aes256Gcm,
}

impl VaultKey {
    fn new(key: &[u8; 32]) -> Self {
        let digest = Sha256::digest(key);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        let cipher = Aes256Gcm::new_from_slice(key).unwrap_or_else(|_| unreachable!("32-byte key"));
        Self { id, cipher }
    }
}

pub struct Vault {
    current: VaultKey,
    previous: Vec<VaultKey>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("current_key_id", &hex(&self.current.id))
            .field("previous_keys", &self.previous.len())
            .finish()
    }
}

/// What the ciphertext is bound to: a copied blob fails to decrypt in any other row or column.
pub fn integration_secret_aad(integration_id: i64) -> Vec<u8> {
    format!("pulse-etl:integrations.secret:{integration_id}").into_bytes()
}

impl Vault {
    pub fn new(current: &SecretBox<[u8; 32]>, previous: &[SecretBox<[u8; 32]>]) -> Self {
        Self {
            current: VaultKey::new(current.expose_secret()),
            previous: previous.iter().map(|k| VaultKey::new(k.expose_secret())).collect(),
        }
    }

    pub fn encrypt(&self, plaintext: &SecretString, aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .current
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad,
                },
            )
            .map_err(|_| CryptoError::Encrypt)?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn decrypt(&self, stored: &[u8], aad: &[u8]) -> Result<SecretString, CryptoError> {
        if stored.len() < HEADER_LEN + TAG_LEN || stored[0] != FORMAT_VERSION {
            return Err(CryptoError::Malformed);
        }
        let id = &stored[1..1 + KEY_ID_LEN];
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(hex(id)))?;
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&stored[1 + KEY_ID_LEN..HEADER_LEN]);
        let plain = key
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: &stored[HEADER_LEN..],
                    aad,
                },
            )
            .map_err(|_| CryptoError::Decrypt)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| CryptoError::Decrypt)
    }

    /// Whether a stored value is already under the current key (rotation skips those).
    pub fn is_current(&self, stored: &[u8]) -> bool {
        stored.len() > KEY_ID_LEN && stored[1..1 + KEY_ID_LEN] == self.current.id
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn key(byte: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([byte; 32]))
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    #[test]
    fn a_secret_round_trips_and_is_not_in_the_ciphertext() {
        let vault = Vault::new(&key(1), &[]);
        let stored = vault.encrypt(&secret("ghp_supersecret"), b"ctx:1").unwrap();
        assert!(!stored.windows(15).any(|w| w == b"ghp_supersecret"));
        assert_eq!(
            vault.decrypt(&stored, b"ctx:1").unwrap().expose_secret(),
            "ghp_supersecret"
        );
    }

    #[test]
    fn tampering_wrong_context_and_wrong_key_all_fail() {
        let vault = Vault::new(&key(1), &[]);
        let stored = vault.encrypt(&secret("token"), &integration_secret_aad(7)).unwrap();
        for i in [0, 3, HEADER_LEN, stored.len() - 1] {
            let mut bad = stored.clone();
            bad[i] ^= 0x01;
            assert!(vault.decrypt(&bad, &integration_secret_aad(7)).is_err(), "byte {i}");
        }
        assert_eq!(
            vault.decrypt(&stored, &integration_secret_aad(8)).err(),
            Some(CryptoError::Decrypt)
        );
        let other = Vault::new(&key(2), &[]);
        assert!(matches!(
            other.decrypt(&stored, &integration_secret_aad(7)),
            Err(CryptoError::UnknownKey(_))
        ));
        assert_eq!(vault.decrypt(&stored[..10], b"").err(), Some(CryptoError::Malformed));
    }

    #[test]
    fn nonces_never_repeat() {
        let vault = Vault::new(&key(1), &[]);
        let nonces: HashSet<Vec<u8>> = (0..10_000)
            .map(|_| vault.encrypt(&secret("same"), b"a").unwrap()[1 + KEY_ID_LEN..HEADER_LEN].to_vec())
            .collect();
        assert_eq!(nonces.len(), 10_000);
    }

    #[test]
    fn the_previous_key_still_decrypts_after_rotation() {
        let old = Vault::new(&key(1), &[]);
        let stored = old.encrypt(&secret("token"), b"a").unwrap();
        let rotated = Vault::new(&key(2), &[key(1)]);
        assert!(!rotated.is_current(&stored));
        assert_eq!(rotated.decrypt(&stored, b"a").unwrap().expose_secret(), "token");
        let again = rotated.encrypt(&secret("token"), b"a").unwrap();
        assert!(rotated.is_current(&again));
        assert!(Vault::new(&key(2), &[]).decrypt(&again, b"a").is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        let shown = format!("{:?}", Vault::new(&key(9), &[]));
        assert!(shown.contains("current_key_id") && !shown.contains("9, 9"));
    }
}

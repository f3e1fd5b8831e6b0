// Signs a payload with Ed25519ph (RFC 8032 §5.1: Ed25519 over the payload's SHA-512, empty
// context), as cosign 2 signs with an Ed25519 key (`options.WithED25519ph()` in cosign's
// pkg/signature/keys.go). The signer is @noble/curves, an implementation independent of the
// one pinnace verifies with; Debian's openssl 3.0 has no Ed25519ph. Driven by
// tests/support/cosign.rs.
//
// usage: node ed25519ph_sign.js KEY.der PAYLOAD SIGNATURE_OUT
//   KEY.der: the PKCS #8 private key (as decrypted from cosign.key)
'use strict';

const fs = require('fs');
const { ed25519ph } = require('@noble/curves/ed25519');

// PKCS #8 of an Ed25519 key (RFC 8410 §7): this fixed prefix, then the 32-byte seed.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const [keyFile, payloadFile, signatureFile] = process.argv.slice(2);
const key = fs.readFileSync(keyFile);
if (key.length !== 48 || !key.subarray(0, 16).equals(PKCS8_PREFIX)) {
  console.error(`${keyFile} is not an Ed25519 PKCS #8 key`);
  process.exit(1);
}
const signature = ed25519ph.sign(fs.readFileSync(payloadFile), key.subarray(16));
fs.writeFileSync(signatureFile, Buffer.from(signature));

// Signs payloads keylessly with Sigstore's own JavaScript signer (npm `sigstore`) against
// Sigstore's own test doubles (npm `@sigstore/mock`: a Fulcio CA, a Rekor log and an RFC 3161
// timestamp authority answering inside this process, through nock; nothing leaves it), and
// writes each Sigstore bundle and the trusted_root.json that trusts this run's CA, log and
// timestamp authority. Driven by tests/support/sigstore.rs.
//
// usage: node sigstore_sign.js JOBS.json OUT_DIR
//   JOBS.json: [{name, kind: "attest"|"sign", payload_file, subject, issuer, rekor_offset_seconds,
//                timestamp, tsa_offset_seconds, key_file}]
//   `timestamp: true` asks the timestamp authority instead of Rekor (no tlog entry), as GitHub
//   attests private repositories; `key_file` (a PKCS #8 DER private key) signs with that key
//   instead of a Fulcio certificate, as `cosign sign --key` makes its bundle since cosign 3 (a
//   DSSE envelope, the public key's hint as verification material; no Rekor upload);
//   writes OUT_DIR/<name>.json per job and OUT_DIR/trusted_root.json
//
// Two things here stand in for parts of the mock:
// - Rekor's server: @sigstore/mock logs a proposed `dsse` entry as it was sent, while Rekor logs
//   its canonical form (sigstore/rekor pkg/types/dsse/v0.0.1: envelopeHash, payloadHash,
//   signatures with their verifiers). `canonicalDsse` turns the one into the other, as Rekor
//   does, before the mock log signs it.
// - The CT log: @sigstore/mock 0.11's SCTs have an empty signature and its CA writes the SCT
//   list without each SCT's length, so no RFC 6962 verifier can read them. `ctLog` signs SCTs
//   as a CT log does (RFC 6962 §3.2, ECDSA P-256 over the precertificate, with Node's crypto)
//   and hands the mock CA each one with its length, which the CA's list prefix then completes.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const nock = require('nock');
const sigstore = require('sigstore');
const { DSSEBundleBuilder } = require('@sigstore/sign');
const { bundleToJSON } = require('@sigstore/bundle');
const { initializeCA, initializeTLog, initializeTSA, fulcioHandler, rekorHandler, tsaHandler } = require('@sigstore/mock');
const { mock } = require('@sigstore/mock/dist/mock');
const { TrustedRoot, HashAlgorithm, PublicKeyDetails } = require('@sigstore/protobuf-specs');

const FULCIO_URL = 'https://fulcio.sigstore.dev';
const REKOR_URL = 'https://rekor.sigstore.dev';
const TSA_URL = 'https://timestamp.sigstore.dev';

function base64url(text) {
  return Buffer.from(text).toString('base64url');
}

// An OIDC token as an issuer would sign it; the mock Fulcio reads its claims without checking
// a signature, so none is made.
function identityToken(subject, issuer) {
  const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const now = Math.floor(Date.now() / 1000);
  const claims = base64url(JSON.stringify({ iss: issuer, sub: subject, aud: 'sigstore', iat: now, exp: now + 600 }));
  return `${header}.${claims}.`;
}

const sha256 = (bytes) => crypto.createHash('sha256').update(bytes).digest('hex');

function canonicalDsse(entry) {
  if (entry.kind !== 'dsse' || !entry.spec.proposedContent) {
    return entry;
  }
  const envelopeText = entry.spec.proposedContent.envelope;
  const envelope = JSON.parse(envelopeText);
  const verifier = entry.spec.proposedContent.verifiers[0];
  return {
    apiVersion: entry.apiVersion,
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelopeText)) },
      payloadHash: { algorithm: 'sha256', value: sha256(Buffer.from(envelope.payload, 'base64')) },
      signatures: envelope.signatures.map((s) => ({ signature: s.sig, verifier })),
    },
  };
}

// A DSSE bundle of `payload` signed with the private key in `keyFile`, by Sigstore's own bundle
// builder; the signature is over DSSE's pre-authentication encoding, with the digest cosign
// uses for the key's kind.
async function keySignedBundle(payload, keyFile) {
  const privateKey = crypto.createPrivateKey({ key: fs.readFileSync(keyFile), format: 'der', type: 'pkcs8' });
  const publicKey = crypto.createPublicKey(privateKey);
  const publicDer = publicKey.export({ format: 'der', type: 'spki' });
  const kind = privateKey.asymmetricKeyType;
  const curve = kind === 'ec' ? privateKey.asymmetricKeyDetails.namedCurve : undefined;
  const hash = kind === 'ed25519' ? null : curve === 'secp384r1' ? 'sha384' : 'sha256';
  const signer = {
    sign: async (data) => ({
      signature: crypto.sign(hash, data, privateKey),
      key: {
        $case: 'publicKey',
        publicKey: publicKey.export({ format: 'pem', type: 'spki' }),
        hint: crypto.createHash('sha256').update(publicDer).digest('base64'),
      },
    }),
  };
  const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
  return bundleToJSON(await builder.create({ data: payload, type: 'application/vnd.in-toto+json' }));
}

// The length of the DER header at `der[at]`, and the length of the value it announces.
function derHeader(der, at) {
  const first = der[at + 1];
  if (first < 0x80) {
    return [2, first];
  }
  const count = first & 0x7f;
  let length = 0;
  for (let i = 0; i < count; i++) {
    length = length * 256 + der[at + 2 + i];
  }
  return [2 + count, length];
}

// The TBSCertificate of a DER certificate, as its bytes stand.
function tbsOf(certificate) {
  const [outer] = derHeader(certificate, 0);
  const [header, length] = derHeader(certificate, outer);
  return certificate.subarray(outer, outer + header + length);
}

const u16 = (n) => Buffer.from([n >> 8, n & 0xff]);

// A CT log for the mock CA: `log(precertificate, issuerKeyHash)` returns an RFC 6962 v1 SCT,
// prefixed by its 2-byte length (an entry of a SignedCertificateTimestampList).
function ctLog(keys) {
  const publicKey = keys.publicKey.export({ format: 'der', type: 'spki' });
  const logID = crypto.createHash('sha256').update(publicKey).digest();
  return {
    publicKey,
    logID,
    log: async (precertificate, issuerKeyHash) => {
      const tbs = tbsOf(Buffer.from(precertificate));
      const timestamp = Buffer.alloc(8);
      timestamp.writeBigUInt64BE(BigInt(Date.now()));
      const signed = Buffer.concat([
        Buffer.from([0, 0]), timestamp, Buffer.from([0, 1]), Buffer.from(issuerKeyHash),
        Buffer.from([tbs.length >> 16, (tbs.length >> 8) & 0xff, tbs.length & 0xff]), tbs, u16(0),
      ]);
      const signature = crypto.sign('sha256', signed, keys.privateKey);
      const sct = Buffer.concat([
        Buffer.from([0]), logID, timestamp, u16(0), Buffer.from([4, 3]), u16(signature.length), signature,
      ]);
      return Buffer.concat([u16(sct.length), sct]);
    },
  };
}

async function main() {
  const [jobsFile, outDir] = process.argv.slice(2);
  const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8'));
  nock.disableNetConnect();

  const keyPair = () => crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const caKeys = keyPair();
  const ctlog = ctLog(keyPair());
  const ca = await initializeCA(caKeys, ctlog);
  const rekorKeys = keyPair();
  const since = new Date(Date.now() - 3600 * 1000);
  // The authority the root trusts; a job's own clock gets an authority with the same key.
  const tsaKeys = keyPair();
  const tsa = await initializeTSA(tsaKeys);

  for (const job of jobs) {
    // Without an offset the log keeps its own clock, so it logs after Fulcio issued, as Rekor does.
    const offset = job.rekor_offset_seconds || 0;
    const clock = offset === 0 ? undefined : new Date(Date.now() + offset * 1000);
    const tlog = await initializeTLog(REKOR_URL, rekorKeys, clock);
    const rekor = rekorHandler(tlog);
    mock(FULCIO_URL, fulcioHandler(ca));
    mock(REKOR_URL, { path: rekor.path, fn: (body) => rekor.fn(JSON.stringify(canonicalDsse(JSON.parse(body)))) });
    const payload = fs.readFileSync(job.payload_file);
    const options = {
      fulcioURL: FULCIO_URL,
      rekorURL: REKOR_URL,
      identityToken: identityToken(job.subject, job.issuer),
    };
    if (job.timestamp) {
      const tsaOffset = job.tsa_offset_seconds || 0;
      const stamper = tsaOffset === 0 ? tsa : await initializeTSA(tsaKeys, new Date(Date.now() + tsaOffset * 1000));
      mock(TSA_URL, tsaHandler(stamper));
      options.tsaServerURL = TSA_URL;
      options.tlogUpload = false;
    }
    const bundle = job.key_file
      ? await keySignedBundle(payload, job.key_file)
      : job.kind === 'attest'
        ? await sigstore.attest(payload, 'application/vnd.in-toto+json', options)
        : await sigstore.sign(payload, options);
    fs.writeFileSync(path.join(outDir, `${job.name}.json`), JSON.stringify(bundle));
  }

  const rekorDer = rekorKeys.publicKey.export({ format: 'der', type: 'spki' });
  const root = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [{
      baseUrl: REKOR_URL,
      hashAlgorithm: HashAlgorithm.SHA2_256,
      publicKey: { rawBytes: rekorDer, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start: since } },
      logId: { keyId: crypto.createHash('sha256').update(rekorDer).digest() },
    }],
    certificateAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
      uri: FULCIO_URL,
      certChain: { certificates: [{ rawBytes: ca.rootCertificate }] },
      validFor: { start: since },
    }],
    ctlogs: [{
      baseUrl: 'https://ctfe.sigstore.dev',
      hashAlgorithm: HashAlgorithm.SHA2_256,
      publicKey: { rawBytes: ctlog.publicKey, keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256, validFor: { start: since } },
      logId: { keyId: ctlog.logID },
    }],
    timestampAuthorities: [{
      subject: { organization: 'sigstore.mock', commonName: 'tsa' },
      uri: TSA_URL,
      certChain: { certificates: [{ rawBytes: tsa.intCertificate }, { rawBytes: tsa.rootCertificate }] },
      validFor: { start: since },
    }],
  };
  fs.writeFileSync(path.join(outDir, 'trusted_root.json'), JSON.stringify(TrustedRoot.toJSON(root), null, 2));
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  process.exit(1);
});

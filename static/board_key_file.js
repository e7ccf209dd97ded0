// A board member's secrets in a passphrase-protected file (docs/BALLOT_CRYPTO.md, section 6):
// PBKDF2-HMAC-SHA256 makes the key, AES-256-GCM seals the secrets with the poll and the
// member's index as associated data, all through WebCrypto. The server's Python side
// (voting/secret/keyfile.py) writes and reads the same files.

import { BallotCryptoError, concat, frame, fromHex, scalarFromHex, str, toHex, u32 }
  from "./secret_ballot.js";

export const VERSION = "phonghop-board-key/1";
export const ITERATIONS = 600000;
const MIN_ITERATIONS = 600000;
const MAX_ITERATIONS = 10000000;
export const MIN_PASSPHRASE = 10;

/** Why a key file was refused: `code` is malformed, weak_passphrase or wrong_passphrase. */
export class KeyFileError extends Error {
  constructor(code, message = code) {
    super(message);
    this.code = code;
  }
}

function aad(pollUid, index) {
  return concat(frame(str(VERSION)), frame(str(pollUid)), u32(index));
}

async function deriveKey(passphrase, salt, iterations) {
  const material = await crypto.subtle.importKey(
    "raw", str(passphrase), "PBKDF2", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations }, material,
    { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
}

function checkSecrets(secrets) {
  const keys = secrets && typeof secrets === "object" ? Object.keys(secrets).sort() : [];
  if (keys.join() !== "coefficients,share,transport_secret" ||
      !Array.isArray(secrets.coefficients)) {
    throw new KeyFileError("malformed", "secrets: transport_secret, coefficients, share");
  }
  try {
    for (const s of [secrets.transport_secret, ...secrets.coefficients]) scalarFromHex(s);
    if (secrets.share !== null) scalarFromHex(secrets.share);
  } catch (err) {
    if (err instanceof BallotCryptoError) {
      throw new KeyFileError("malformed", "secrets: canonical scalars in hex");
    }
    throw err;
  }
}

/**
 * The key file (a JSON object) holding a member's secrets.
 * @param {{transport_secret: string, coefficients: string[], share: string|null}} secrets
 * @param {string} pollUid
 * @param {number} index the member's index on the board (1…15)
 * @param {string} passphrase at least MIN_PASSPHRASE characters
 * @param {{iterations?: number}} [options]
 * @returns {Promise<object>}
 */
export async function sealKey(secrets, pollUid, index, passphrase,
  { iterations = ITERATIONS } = {}) {
  if (typeof passphrase !== "string" || passphrase.normalize("NFC").length < MIN_PASSPHRASE) {
    throw new KeyFileError("weak_passphrase", `at least ${MIN_PASSPHRASE} characters`);
  }
  checkSecrets(secrets);
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const key = await deriveKey(passphrase, salt, iterations);
  const plaintext = new TextEncoder().encode(JSON.stringify({
    coefficients: secrets.coefficients, share: secrets.share,
    transport_secret: secrets.transport_secret,
  }));
  const box = new Uint8Array(await crypto.subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: aad(pollUid, index) }, key, plaintext));
  return {
    version: VERSION, poll_uid: pollUid, index,
    kdf: { name: "PBKDF2-SHA256", iterations, salt: toHex(salt) },
    nonce: toHex(nonce), box: toHex(box),
  };
}

/**
 * The secrets a key file holds.
 * @param {object} doc the parsed file
 * @param {string} passphrase
 * @returns {Promise<{transport_secret: string, coefficients: string[], share: string|null}>}
 * @throws {KeyFileError} malformed, or wrong_passphrase (also for a changed file)
 */
export async function openKey(doc, passphrase) {
  if (!doc || typeof doc !== "object" || doc.version !== VERSION) {
    throw new KeyFileError("malformed", "not a phonghop board key file");
  }
  const { poll_uid: pollUid, index, kdf } = doc;
  if (typeof pollUid !== "string" || !Number.isInteger(index) || index < 1 || index > 15 ||
      !kdf || kdf.name !== "PBKDF2-SHA256" || !Number.isInteger(kdf.iterations) ||
      kdf.iterations < MIN_ITERATIONS || kdf.iterations > MAX_ITERATIONS) {
    throw new KeyFileError("malformed", "fields");
  }
  let salt; let nonce; let box;
  try {
    salt = fromHex(kdf.salt, 16);
    nonce = fromHex(doc.nonce, 12);
    box = fromHex(doc.box);
  } catch {
    throw new KeyFileError("malformed", "lengths");
  }
  if (box.length < 16) throw new KeyFileError("malformed", "lengths");
  const key = await deriveKey(typeof passphrase === "string" ? passphrase : "", salt,
    kdf.iterations);
  let plaintext;
  try {
    plaintext = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: nonce, additionalData: aad(pollUid, index) }, key, box);
  } catch {
    throw new KeyFileError("wrong_passphrase");
  }
  let secrets;
  try {
    secrets = JSON.parse(new TextDecoder().decode(plaintext));
  } catch {
    throw new KeyFileError("malformed", "contents");
  }
  checkSecrets(secrets);
  return secrets;
}

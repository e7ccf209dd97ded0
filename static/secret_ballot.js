// Encrypted secret ballots on the voter's and the board members' devices: exponential
// ElGamal on ristretto255, disjunctive Chaum–Pedersen proofs, the Pedersen/Feldman threshold
// key and the board verifier. docs/BALLOT_CRYPTO.md is the specification, byte for byte;
// the server's voting/secret/ follows the same page and both interoperate bit for bit.
//
// Conventions: points are ristretto255 Point objects, scalars are bigints in [0, ℓ); the
// JSON forms (what is sent and published) are lowercase hex. Every function that draws
// randomness takes an optional `rng() -> bigint` returning one scalar per draw, in the
// order of the specification's appendix, so tests can be deterministic; the default draws
// 64 bytes from crypto.getRandomValues and reduces them mod ℓ. Verifiers never throw on
// hostile input: they answer false (or list the problems, for the board).

import { ristretto255, sha256, sha512 } from "./vendor/noble-ristretto255.js";

const Point = ristretto255.Point;
const Fn = Point.Fn;

/** The group order ℓ = 2^252 + 27742317777372353535851937790883648493. */
export const ORDER = Fn.ORDER;
/** The standard base point G. */
export const G = Point.BASE;
/** The identity. */
export const IDENTITY = Point.ZERO;
/** Bounds on the counting board (docs/BALLOT_CRYPTO.md, notation). */
export const MAX_MEMBERS = 15;

export const TAG = Object.freeze({
  ceremony: "phonghop/ceremony/v1",
  coefficient: "phonghop/ceremony/v1/coefficient",
  share: "phonghop/ceremony/v1/share",
  complaint: "phonghop/ceremony/v1/complaint",
  poll: "phonghop/poll/v1",
  choice: "phonghop/ballot/v1/choice",
  count: "phonghop/ballot/v1/count",
  tracker: "phonghop/tracker/v1",
  partial: "phonghop/tally/v1/share",
});

/** A malformed encoding or an impossible request (never a failed proof: those answer false). */
export class BallotCryptoError extends Error {
  /**
   * @param {string} code a short machine-readable reason, e.g. "bad_point"
   * @param {string} message
   */
  constructor(code, message) {
    super(message);
    this.name = "BallotCryptoError";
    this.code = code;
  }
}

// ---------------------------------------------------------------------------------------
// Encodings

const HEX = /^(?:[0-9a-f]{2})*$/;
const encoder = new TextEncoder();

/**
 * Lowercase hex of bytes.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function toHex(bytes) {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

/**
 * Bytes of lowercase hex, refusing anything else (uppercase included: one value, one form).
 * @param {string} hex
 * @param {number} [length] the number of bytes required
 * @returns {Uint8Array}
 */
export function fromHex(hex, length) {
  if (typeof hex !== "string" || !HEX.test(hex)) {
    throw new BallotCryptoError("bad_hex", "not lowercase hex");
  }
  if (length !== undefined && hex.length !== 2 * length) {
    throw new BallotCryptoError("bad_hex", `expected ${length} bytes`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * u32(n): 4 bytes big-endian.
 * @param {number} n an integer in [0, 2^32)
 * @returns {Uint8Array}
 */
export function u32(n) {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new BallotCryptoError("bad_u32", "not a 32-bit unsigned integer");
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n, false);
  return out;
}

/**
 * str(s): the UTF-8 bytes of the NFC form of s.
 * @param {string} s
 * @returns {Uint8Array}
 */
export function str(s) {
  if (typeof s !== "string") throw new BallotCryptoError("bad_string", "not a string");
  return encoder.encode(s.normalize("NFC"));
}

/**
 * The concatenation of byte strings.
 * @param {...Uint8Array} parts
 * @returns {Uint8Array}
 */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * frame(x) = u32(len(x)) ‖ x.
 * @param {Uint8Array} x
 * @returns {Uint8Array}
 */
export function frame(x) {
  return concat(u32(x.length), x);
}

function framed(tag, xs) {
  return concat(frame(str(tag)), ...xs.map(frame));
}

/**
 * Hb(tag, x₁, …, xₙ): SHA-256 of frame(str(tag)) ‖ frame(x₁) ‖ … ‖ frame(xₙ).
 * @param {string} tag
 * @param {...Uint8Array} xs
 * @returns {Uint8Array} 32 bytes
 */
export function Hb(tag, ...xs) {
  return sha256(framed(tag, xs));
}

/**
 * Hs(tag, x₁, …, xₙ): SHA-512 of the same framing, read little-endian, mod ℓ.
 * @param {string} tag
 * @param {...Uint8Array} xs
 * @returns {bigint}
 */
export function Hs(tag, ...xs) {
  return reduceWide(sha512(framed(tag, xs)));
}

function leToBigint(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/**
 * A byte string read as a little-endian integer, mod ℓ (64 bytes: libsodium's
 * crypto_core_ristretto255_scalar_reduce).
 * @param {Uint8Array} bytes
 * @returns {bigint}
 */
export function reduceWide(bytes) {
  return leToBigint(bytes) % ORDER;
}

/**
 * a mod ℓ, in [0, ℓ).
 * @param {bigint} a
 * @returns {bigint}
 */
export function mod(a) {
  const r = a % ORDER;
  return r < 0n ? r + ORDER : r;
}

/**
 * A scalar's 32 bytes, little-endian.
 * @param {bigint} s in [0, ℓ)
 * @returns {Uint8Array}
 */
export function scalarToBytes(s) {
  if (typeof s !== "bigint" || s < 0n || s >= ORDER) {
    throw new BallotCryptoError("bad_scalar", "scalar out of range");
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    out[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return out;
}

/**
 * The scalar of 32 little-endian bytes, refusing values ≥ ℓ.
 * @param {Uint8Array} bytes
 * @returns {bigint}
 */
export function scalarFromBytes(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new BallotCryptoError("bad_scalar", "a scalar is 32 bytes");
  }
  const s = leToBigint(bytes);
  if (s >= ORDER) throw new BallotCryptoError("bad_scalar", "scalar not reduced");
  return s;
}

/** @param {bigint} s @returns {string} 64 hex digits */
export function scalarToHex(s) {
  return toHex(scalarToBytes(s));
}

/** @param {string} hex 64 hex digits @returns {bigint} */
export function scalarFromHex(hex) {
  return scalarFromBytes(fromHex(hex, 32));
}

/**
 * A point's 32-byte canonical encoding (the identity is 32 zero bytes).
 * @param {Point} P
 * @returns {Uint8Array}
 */
export function pointToBytes(P) {
  return P.toBytes();
}

/**
 * The point of a canonical 32-byte encoding (RFC 9496 decode: refuses any other).
 * @param {Uint8Array} bytes
 * @returns {Point}
 */
export function pointFromBytes(bytes) {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new BallotCryptoError("bad_point", "a point is 32 bytes");
  }
  try {
    return Point.fromBytes(bytes);
  } catch {
    throw new BallotCryptoError("bad_point", "not a canonical ristretto255 encoding");
  }
}

/** @param {Point} P @returns {string} 64 hex digits */
export function pointToHex(P) {
  return toHex(P.toBytes());
}

/** @param {string} hex 64 hex digits @returns {Point} */
export function pointFromHex(hex) {
  return pointFromBytes(fromHex(hex, 32));
}

// ---------------------------------------------------------------------------------------
// Group arithmetic and randomness

/**
 * s·P for a secret s (constant-time ladder); 0·P is the identity.
 * @param {Point} P
 * @param {bigint} s
 * @returns {Point}
 */
function mulSecret(P, s) {
  s = mod(s);
  return s === 0n ? IDENTITY : P.multiply(s);
}

/**
 * s·P for public values (faster, variable time).
 * @param {Point} P
 * @param {bigint} s
 * @returns {Point}
 */
function mulPublic(P, s) {
  return P.multiplyUnsafe(mod(s));
}

/**
 * A uniform scalar from the platform's CSPRNG: 64 random bytes reduced mod ℓ.
 * @returns {bigint}
 */
export function systemRng() {
  return reduceWide(globalThis.crypto.getRandomValues(new Uint8Array(64)));
}

/**
 * One draw of rng, checked to be a scalar.
 * @param {() => bigint} rng
 * @returns {bigint}
 */
function draw(rng) {
  const s = rng();
  if (typeof s !== "bigint" || s < 0n || s >= ORDER) {
    throw new BallotCryptoError("bad_rng", "rng() must return a scalar in [0, ℓ)");
  }
  return s;
}

const MULTIPLES = [IDENTITY]; // v·G by repeated addition, grown on demand

/**
 * v·G for a small integer v ≥ 0 (a vote or a number of choices). A table lookup: the
 * same work whatever v is, so the time to build a ballot does not depend on the choices.
 * @param {number} v
 * @returns {Point}
 */
function small(v) {
  while (MULTIPLES.length <= v) MULTIPLES.push(MULTIPLES[MULTIPLES.length - 1].add(G));
  return MULTIPLES[v];
}

function sum(points) {
  return points.reduce((acc, P) => acc.add(P), IDENTITY);
}

// ---------------------------------------------------------------------------------------
// The disjunctive Chaum–Pedersen proof

/**
 * Proves that (alpha, beta) = (r·G, values[index]·G + r·K) encrypts one of `values`.
 * Draws, for i = 0 … L−1 in order: cᵢ then zᵢ for i ≠ index, w for i = index.
 * @param {object} a
 * @param {string} a.tag
 * @param {Uint8Array} a.context
 * @param {string} a.voter
 * @param {Uint8Array} a.extra
 * @param {Point} a.alpha
 * @param {Point} a.beta
 * @param {bigint} a.r
 * @param {number[]} a.values
 * @param {number} a.index the position in values of the encrypted value
 * @param {Point} a.publicKey K
 * @param {() => bigint} [rng]
 * @returns {Array<[bigint, bigint]>} [(c₀, z₀), …]
 */
export function proveEncryption(a, rng = systemRng) {
  const { alpha, beta, values, index, publicKey: K } = a;
  const cs = new Array(values.length);
  const zs = new Array(values.length);
  const commitments = [];
  let w = 0n;
  for (let i = 0; i < values.length; i++) {
    if (i === index) {
      w = draw(rng);
      commitments.push(mulSecret(G, w), mulSecret(K, w));
    } else {
      cs[i] = draw(rng);
      zs[i] = draw(rng);
      const shifted = beta.subtract(small(values[i]));
      commitments.push(mulSecret(G, zs[i]).subtract(mulSecret(alpha, cs[i])),
        mulSecret(K, zs[i]).subtract(mulSecret(shifted, cs[i])));
    }
  }
  const c = encryptionChallenge(a, commitments);
  let others = 0n;
  for (let i = 0; i < values.length; i++) if (i !== index) others += cs[i];
  cs[index] = mod(c - others);
  zs[index] = mod(w + cs[index] * a.r);
  return cs.map((ci, i) => [ci, zs[i]]);
}

function encryptionChallenge(a, commitments) {
  return Hs(a.tag, a.context, str(a.voter), a.extra, a.alpha.toBytes(), a.beta.toBytes(),
    ...commitments.map((P) => P.toBytes()));
}

/**
 * Checks a disjunctive proof that (alpha, beta) encrypts one of `values` under K.
 * @param {object} a same fields as proveEncryption but `proof` instead of r, index
 * @param {Array<[bigint, bigint]>} a.proof
 * @returns {boolean}
 */
export function verifyEncryption(a) {
  const { alpha, beta, values, publicKey: K, proof } = a;
  if (!Array.isArray(proof) || proof.length !== values.length) return false;
  const commitments = [];
  let total = 0n;
  for (let i = 0; i < values.length; i++) {
    const [c, z] = proof[i];
    const shifted = beta.subtract(small(values[i]));
    commitments.push(mulPublic(G, z).subtract(mulPublic(alpha, c)),
      mulPublic(K, z).subtract(mulPublic(shifted, c)));
    total += c;
  }
  return mod(total) === encryptionChallenge(a, commitments);
}

function proofToJson(proof) {
  return proof.map(([c, z]) => [scalarToHex(c), scalarToHex(z)]);
}

function proofFromJson(json) {
  if (!Array.isArray(json)) throw new BallotCryptoError("bad_proof", "a proof is a list");
  return json.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) {
      throw new BallotCryptoError("bad_proof", "a proof is a list of [c, z]");
    }
    return [scalarFromHex(pair[0]), scalarFromHex(pair[1])];
  });
}

// ---------------------------------------------------------------------------------------
// The key ceremony

/**
 * ceremony = Hb("phonghop/ceremony/v1", str(poll_uid), u32(n), u32(t)).
 * @param {string} pollUid
 * @param {number} n members
 * @param {number} t threshold
 * @returns {Uint8Array}
 */
export function ceremonyContext(pollUid, n, t) {
  checkBoardSize(n, t);
  return Hb(TAG.ceremony, str(pollUid), u32(n), u32(t));
}

function checkBoardSize(n, t) {
  if (!Number.isInteger(n) || !Number.isInteger(t) || t < 1 || t > n || n > MAX_MEMBERS) {
    throw new BallotCryptoError("bad_board", "need 1 ≤ t ≤ n ≤ 15");
  }
}

function coefficientChallenge(ceremony, i, k, A, H) {
  return Hs(TAG.coefficient, ceremony, u32(i), u32(k), A.toBytes(), H.toBytes());
}

/**
 * Round 1 of member i: the transport key, the polynomial's commitments and their Schnorr
 * proofs. Draws e, then a₀ … a_{t−1}, then w₀ … w_{t−1}.
 * @param {object} a
 * @param {Uint8Array} a.ceremony
 * @param {number} a.index i, 1 … n
 * @param {number} a.t
 * @param {() => bigint} [rng]
 * @returns {{secret: MemberSecret, published: object}} `published` is the JSON to publish:
 *   {index, transport_key, commitments, proofs}; `secret` never leaves the device.
 */
export function round1(a, rng = systemRng) {
  const { ceremony, index, t } = a;
  const e = draw(rng);
  const coefficients = [];
  for (let k = 0; k < t; k++) coefficients.push(draw(rng));
  const commitments = coefficients.map((ak) => mulSecret(G, ak));
  const proofs = coefficients.map((ak, k) => {
    const w = draw(rng);
    const c = coefficientChallenge(ceremony, index, k, commitments[k], mulSecret(G, w));
    return [c, mod(w + c * ak)];
  });
  return {
    secret: { index, transportSecret: e, coefficients },
    published: {
      index,
      transport_key: pointToHex(mulSecret(G, e)),
      commitments: commitments.map(pointToHex),
      proofs: proofToJson(proofs),
    },
  };
}

/**
 * @typedef {object} MemberSecret
 * @property {number} index
 * @property {bigint} transportSecret e
 * @property {bigint[]} coefficients a₀ … a_{t−1}
 */

/**
 * A member's published round 1 decoded: {index, transportKey, commitments, proofs}.
 * Refuses an index outside 1 … n, lists not of t entries and the identity as transport
 * key (a key anybody could open); does not check the proofs (verifyRound1 does).
 * @param {object} json {index, transport_key, commitments, proofs}
 * @param {number} n
 * @param {number} t
 * @returns {{index: number, transportKey: Point, commitments: Point[], proofs: Array<[bigint, bigint]>}}
 */
export function decodeMember(json, n, t) {
  if (!json || typeof json !== "object") throw new BallotCryptoError("bad_member", "not an object");
  const { index } = json;
  if (!Number.isInteger(index) || index < 1 || index > n) {
    throw new BallotCryptoError("bad_member", "index not in 1 … n");
  }
  if (!Array.isArray(json.commitments) || json.commitments.length !== t) {
    throw new BallotCryptoError("bad_member", "need t commitments");
  }
  const proofs = proofFromJson(json.proofs);
  if (proofs.length !== t) throw new BallotCryptoError("bad_member", "need t proofs");
  const transportKey = pointFromHex(json.transport_key);
  if (transportKey.is0()) throw new BallotCryptoError("bad_member", "transport key is 0");
  return {
    index,
    transportKey,
    commitments: json.commitments.map(pointFromHex),
    proofs,
  };
}

/**
 * Checks a member's round 1: its shape (decodeMember) and every coefficient proof.
 * @param {Uint8Array} ceremony
 * @param {number} n
 * @param {number} t
 * @param {object} json the member's published round 1
 * @returns {boolean}
 */
export function verifyRound1(ceremony, n, t, json) {
  let m;
  try {
    m = decodeMember(json, n, t);
  } catch {
    return false;
  }
  return m.commitments.every((A, k) => {
    const [c, u] = m.proofs[k];
    const H = mulPublic(G, u).subtract(mulPublic(A, c));
    return c === coefficientChallenge(ceremony, m.index, k, A, H);
  });
}

/**
 * f(x) = Σₖ aₖ·xᵏ mod ℓ.
 * @param {bigint[]} coefficients
 * @param {number} x
 * @returns {bigint}
 */
export function evalPolynomial(coefficients, x) {
  let acc = 0n;
  for (let k = coefficients.length - 1; k >= 0; k--) acc = mod(acc * BigInt(x) + coefficients[k]);
  return acc;
}

/**
 * Σₖ jᵏ·Aₖ: what member j's share of this dealer must be, times G.
 * @param {Point[]} commitments
 * @param {number} j
 * @returns {Point}
 */
export function commitmentAt(commitments, j) {
  let power = 1n;
  let acc = IDENTITY;
  for (const A of commitments) {
    acc = acc.add(mulPublic(A, power));
    power = mod(power * BigInt(j));
  }
  return acc;
}

function shareAad(ceremony, i, j) {
  return concat(ceremony, u32(i), u32(j));
}

async function shareKey(ceremony, i, j, R, S, usage) {
  const raw = Hb(TAG.share, ceremony, u32(i), u32(j), R.toBytes(), S.toBytes());
  return globalThis.crypto.subtle.importKey("raw", raw, { name: "AES-GCM" }, false, [usage]);
}

const NONCE = new Uint8Array(12); // each key encrypts exactly one message

/**
 * Encrypts dealer i's share s for member j to j's transport key Eⱼ: draws r, R = r·G,
 * S = r·Eⱼ, key = Hb("phonghop/ceremony/v1/share", ceremony, u32(i), u32(j), R, S), and
 * box = AES-256-GCM(key, 12 zero bytes, s, ceremony ‖ u32(i) ‖ u32(j)) = ciphertext ‖ tag.
 * @param {Uint8Array} ceremony
 * @param {number} i dealer
 * @param {number} j recipient
 * @param {Point} transportKey Eⱼ
 * @param {bigint} share s
 * @param {() => bigint} [rng]
 * @returns {Promise<{from: number, to: number, r: string, box: string}>}
 */
export async function sealShare(ceremony, i, j, transportKey, share, rng = systemRng) {
  const r = draw(rng);
  const R = mulSecret(G, r);
  const key = await shareKey(ceremony, i, j, R, mulSecret(transportKey, r), "encrypt");
  const box = new Uint8Array(await globalThis.crypto.subtle.encrypt(
    { name: "AES-GCM", iv: NONCE, additionalData: shareAad(ceremony, i, j), tagLength: 128 },
    key, scalarToBytes(share)));
  return { from: i, to: j, r: pointToHex(R), box: toHex(box) };
}

/**
 * Round 2 of member i: its share fᵢ(j) for every other member j, sealed to Eⱼ
 * (sealShare). Draws one r for each j ≠ i in increasing j. Refuses (bad_members) unless
 * every member's round 1 verifies, indices 1 … n, its own among them as it made it.
 * @param {object} a
 * @param {Uint8Array} a.ceremony
 * @param {MemberSecret} a.secret member i's round 1 secret
 * @param {object[]} a.members every member's published round 1 (JSON), n of them
 * @param {() => bigint} [rng]
 * @returns {Promise<Array<{from: number, to: number, r: string, box: string}>>}
 */
export async function round2(a, rng = systemRng) {
  const { ceremony, secret } = a;
  const i = secret.index;
  const t = secret.coefficients.length;
  const n = a.members.length;
  checkMembers(ceremony, n, t, a.members);
  const others = a.members.map((m) => decodeMember(m, n, t)).filter((m) => m.index !== i);
  const out = [];
  for (const m of others) {
    const share = evalPolynomial(secret.coefficients, m.index);
    out.push(await sealShare(ceremony, i, m.index, m.transportKey, share, rng));
  }
  return out;
}

/**
 * Throws bad_members unless `members` are n round-1 messages in index order 1 … n, each
 * with valid proofs.
 */
function checkMembers(ceremony, n, t, members) {
  if (!Array.isArray(members) || members.length !== n
      || members.some((m, i) => m?.index !== i + 1 || !verifyRound1(ceremony, n, t, m))) {
    throw new BallotCryptoError("bad_members", "the members' round 1 does not verify");
  }
}

/**
 * Whether a member's own round-1 message is the one listed under its index (a member's
 * device checks this on the board: names and user ids are bound by no proof, so a server
 * that ran the ceremony with members of its own making is caught by the real ones).
 * @param {object[]} members the board's or the ceremony's round-1 messages
 * @param {object} own the message this device published
 * @returns {boolean}
 */
export function ownEntryListed(members, own) {
  const listed = Array.isArray(members) ? members.find((m) => m?.index === own.index) : null;
  return Boolean(listed) && listed.transport_key === own.transport_key
    && sameJson(listed.commitments, own.commitments) && sameJson(listed.proofs, own.proofs);
}

/**
 * Opens the share sᵢ,ⱼ that dealer i sent to member j; null if it does not decrypt (a bad
 * encoding of R, a failed tag, or 32 bytes that are not a scalar < ℓ).
 * @param {Uint8Array} ceremony
 * @param {MemberSecret} secret member j's round 1 secret
 * @param {{from: number, to: number, r: string, box: string}} envelope
 * @returns {Promise<bigint|null>}
 */
export async function openShare(ceremony, secret, envelope) {
  const j = secret.index;
  try {
    if (envelope.to !== j || !Number.isInteger(envelope.from)) return null;
    const i = envelope.from;
    const R = pointFromHex(envelope.r);
    const box = fromHex(envelope.box, 48);
    const key = await shareKey(ceremony, i, j, R, mulSecret(R, secret.transportSecret), "decrypt");
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: "AES-GCM", iv: NONCE, additionalData: shareAad(ceremony, i, j), tagLength: 128 },
      key, box);
    return scalarFromBytes(new Uint8Array(plain));
  } catch {
    return null;
  }
}

/**
 * Round 3 of member j: opens and checks every dealer's share against its commitments.
 * Without complaints, `secret` is xⱼ = Σᵢ sᵢ,ⱼ (own fⱼ(j) included); with any, `secret`
 * is null. Complaints come in increasing dealer order, each made by makeComplaint (one
 * draw each, when the envelope's R is a point).
 * @param {object} a
 * @param {Uint8Array} a.ceremony
 * @param {MemberSecret} a.secret member j's round 1 secret
 * @param {object[]} a.members every member's published round 1 (JSON), in index order
 * @param {object[]} a.envelopes the round 2 messages addressed to j
 * @param {() => bigint} [rng]
 * @returns {Promise<{secret: bigint|null, complaints: Array<{from: number, dealer: number,
 *   reason: "undecryptable"|"mismatch", key: string|null, proof: string[]|null}>}>}
 */
export async function round3(a, rng = systemRng) {
  const { ceremony, secret } = a;
  const j = secret.index;
  const t = secret.coefficients.length;
  const n = a.members.length;
  checkMembers(ceremony, n, t, a.members);
  const complaints = [];
  let x = evalPolynomial(secret.coefficients, j);
  const dealers = a.members.map((json) => decodeMember(json, n, t));
  for (const m of dealers) {
    if (m.index === j) continue;
    const envelope = a.envelopes.find((e) => e.from === m.index && e.to === j);
    const s = envelope ? await openShare(ceremony, secret, envelope) : null;
    if (s === null) {
      complaints.push(makeComplaint(ceremony, secret, envelope, m.index, "undecryptable", rng));
    } else if (!mulSecret(G, s).equals(commitmentAt(m.commitments, j))) {
      complaints.push(makeComplaint(ceremony, secret, envelope, m.index, "mismatch", rng));
    } else {
      x = mod(x + s);
    }
  }
  return { secret: complaints.length ? null : x, complaints };
}

function complaintChallenge(ceremony, i, j, E, R, S, A, B) {
  return Hs(TAG.complaint, ceremony, u32(i), u32(j), E.toBytes(), R.toBytes(), S.toBytes(),
    A.toBytes(), B.toBytes());
}

/**
 * Member j's complaint against dealer i that anyone can judge: S = eⱼ·R of the envelope
 * and the proof that log_G Eⱼ = log_R S (draws w: A = w·G, B = w·R, c = Hs(…), z = w + c·eⱼ).
 * Key and proof are null, with no draw, when there is no envelope or its R is not a point.
 * @param {Uint8Array} ceremony
 * @param {MemberSecret} secret member j's round 1 secret
 * @param {{from: number, to: number, r: string, box: string}|undefined} envelope
 * @param {number} dealer i
 * @param {"undecryptable"|"mismatch"} reason
 * @param {() => bigint} [rng]
 * @returns {{from: number, dealer: number, reason: string, key: string|null,
 *   proof: string[]|null}}
 */
export function makeComplaint(ceremony, secret, envelope, dealer, reason, rng = systemRng) {
  const j = secret.index;
  let R = null;
  try {
    if (envelope && envelope.from === dealer) R = pointFromHex(envelope.r);
  } catch {
    R = null;
  }
  if (R === null) return { from: j, dealer, reason, key: null, proof: null };
  const e = secret.transportSecret;
  const S = mulSecret(R, e);
  const w = draw(rng);
  const c = complaintChallenge(ceremony, dealer, j, mulSecret(G, e), R, S, mulSecret(G, w),
    mulSecret(R, w));
  return { from: j, dealer, reason, key: pointToHex(S),
    proof: [scalarToHex(c), scalarToHex(mod(w + c * e))] };
}

/**
 * Judges a ceremony complaint from public data only (docs/BALLOT_CRYPTO.md, round 3):
 * "dealer_at_fault" when the revealed key's proof verifies and the envelope does not open
 * or its share does not match the dealer's commitments (or its R is not a point);
 * "complaint_false" when the share is good; "invalid" when the complaint proves nothing.
 * @param {object} a
 * @param {Uint8Array} a.ceremony
 * @param {object} a.complainer member j's published round 1 (JSON)
 * @param {object} a.dealer member i's published round 1 (JSON)
 * @param {{from: number, to: number, r: string, box: string}} a.envelope i's share to j
 * @param {{from: number, dealer: number, key: string|null, proof: string[]|null}} a.complaint
 * @returns {Promise<"dealer_at_fault"|"complaint_false"|"invalid">}
 */
export async function judgeComplaint(a) {
  const { ceremony, envelope, complaint } = a;
  const i = a.dealer?.index;
  const j = a.complainer?.index;
  if (complaint?.from !== j || complaint?.dealer !== i || envelope?.from !== i
      || envelope?.to !== j) return "invalid";
  let R;
  try {
    R = pointFromHex(envelope.r);
  } catch {
    return "dealer_at_fault"; // R is no point: anyone sees the envelope cannot open
  }
  let S, E, commitments, c, z, box;
  try {
    S = pointFromHex(complaint.key);
    E = pointFromHex(a.complainer.transport_key);
    commitments = a.dealer.commitments.map(pointFromHex);
    if (!Array.isArray(complaint.proof) || complaint.proof.length !== 2) return "invalid";
    [c, z] = complaint.proof.map(scalarFromHex);
    box = fromHex(envelope.box, 48);
  } catch {
    return "invalid";
  }
  const A = mulPublic(G, z).subtract(mulPublic(E, c));
  const B = mulPublic(R, z).subtract(mulPublic(S, c));
  if (c !== complaintChallenge(ceremony, i, j, E, R, S, A, B)) return "invalid";
  let s;
  try {
    const key = await shareKey(ceremony, i, j, R, S, "decrypt");
    const plain = await globalThis.crypto.subtle.decrypt(
      { name: "AES-GCM", iv: NONCE, additionalData: shareAad(ceremony, i, j), tagLength: 128 },
      key, box);
    s = scalarFromBytes(new Uint8Array(plain));
  } catch {
    return "dealer_at_fault";
  }
  return mulPublic(G, s).equals(commitmentAt(commitments, j)) ? "complaint_false"
    : "dealer_at_fault";
}

/**
 * The poll's public key K = Σᵢ Aᵢ,₀.
 * @param {object[]} members published round 1 (JSON)
 * @returns {Point}
 */
export function publicKey(members) {
  return sum(members.map((m) => pointFromHex(m.commitments[0])));
}

/**
 * Member j's verification key Xⱼ = Σᵢ Σₖ jᵏ·Aᵢ,ₖ (= xⱼ·G).
 * @param {object[]} members published round 1 (JSON)
 * @param {number} j
 * @returns {Point}
 */
export function verificationKey(members, j) {
  return sum(members.map((m) => commitmentAt(m.commitments.map(pointFromHex), j)));
}

/**
 * context = Hb("phonghop/poll/v1", ceremony, str(poll_uid), str(title), u32(k),
 * str(option₀), …, str(optionₖ₋₁), u32(min), u32(max), K).
 * @param {Uint8Array} ceremony
 * @param {{poll_uid: string, title: string, options: string[], min: number, max: number}} poll
 * @param {Point} K
 * @returns {Uint8Array}
 */
export function pollContext(ceremony, poll, K) {
  const { options, min, max } = poll;
  if (!Array.isArray(options)) throw new BallotCryptoError("bad_poll", "options is a list");
  checkChoiceBounds(options.length, min, max);
  return Hb(TAG.poll, ceremony, str(poll.poll_uid), str(poll.title), u32(options.length),
    ...options.map(str), u32(min), u32(max), K.toBytes());
}

function checkChoiceBounds(k, min, max) {
  if (![k, min, max].every(Number.isInteger) || k < 1 || min < 0 || min > max || max > k) {
    throw new BallotCryptoError("bad_bounds", "need 0 ≤ min ≤ max ≤ k, k ≥ 1");
  }
}

/**
 * @typedef {object} Poll what a ballot is made and checked against
 * @property {Uint8Array} context
 * @property {Point} publicKey K
 * @property {number} k options
 * @property {number} min
 * @property {number} max
 */

/**
 * The poll a device votes in, recomputed from the published poll and members: the device
 * checks the commitments' proofs and derives K and the context itself rather than trust
 * the server's.
 * @param {{poll_uid: string, title: string, options: string[], min: number, max: number,
 *   n: number, t: number}} poll
 * @param {object[]} members published round 1 (JSON), indices 1 … n in order
 * @returns {Poll}
 */
export function pollFromRecord(poll, members) {
  const { n, t } = poll;
  const ceremony = ceremonyContext(poll.poll_uid, n, t);
  checkMembers(ceremony, n, t, members);
  // Every proof multiplies K: a table of its multiples (built on first use) makes a ballot
  // about a third faster to build and to check.
  const K = publicKey(members).precompute(8);
  return { context: pollContext(ceremony, poll, K), publicKey: K, k: poll.options.length,
    min: poll.min, max: poll.max };
}

// ---------------------------------------------------------------------------------------
// The ballot

const VOTER = /^(?:0|[1-9][0-9]*)$/;

/**
 * Whether a voter id is well formed: the decimal string of an account id (digits only, no
 * sign, no leading zero), so that one voter has exactly one id.
 * @param {unknown} voter
 * @returns {boolean}
 */
export function isVoterId(voter) {
  return typeof voter === "string" && VOTER.test(voter);
}

function range(lo, hi) {
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

const NO_EXTRA = new Uint8Array(0);

/**
 * Encrypts and proves a ballot. Draws, for each option m in order, rₘ then the draws of
 * option m's proof; then those of the count proof.
 * @param {Poll} poll
 * @param {string} voter the decimal string of the voter's account id
 * @param {number[]} choices vₘ ∈ {0, 1} for m = 0 … k−1, min ≤ Σ vₘ ≤ max
 * @param {() => bigint} [rng]
 * @returns {{ballot: object, tracker: string}} the ballot JSON as sent, its tracker (hex)
 */
export function buildBallot(poll, voter, choices, rng = systemRng) {
  const { context, publicKey: K, k, min, max } = poll;
  checkChoiceBounds(k, min, max);
  if (!isVoterId(voter)) throw new BallotCryptoError("bad_voter", "not a voter id");
  if (!Array.isArray(choices) || choices.length !== k || choices.some((v) => v !== 0 && v !== 1)) {
    throw new BallotCryptoError("bad_choices", "one 0 or 1 per option");
  }
  const count = choices.reduce((a, b) => a + b, 0);
  if (count < min || count > max) throw new BallotCryptoError("bad_choices", "choice count");
  const base = { context, voter, publicKey: K };
  const rs = [];
  const encrypted = choices.map((v, m) => {
    const r = draw(rng);
    rs.push(r);
    const alpha = mulSecret(G, r);
    const beta = small(v).add(mulSecret(K, r));
    const proof = proveEncryption({
      ...base, tag: TAG.choice, extra: u32(m), alpha, beta, r, values: [0, 1], index: v,
    }, rng);
    return { alpha, beta, proof };
  });
  const countProof = proveEncryption({
    ...base, tag: TAG.count, extra: NO_EXTRA, alpha: sum(encrypted.map((e) => e.alpha)),
    beta: sum(encrypted.map((e) => e.beta)), r: mod(rs.reduce((a, b) => a + b, 0n)),
    values: range(min, max), index: count - min,
  }, rng);
  const ballot = {
    voter,
    choices: encrypted.map(({ alpha, beta, proof }) => ({ alpha: pointToHex(alpha),
      beta: pointToHex(beta), proof: proofToJson(proof) })),
    count_proof: proofToJson(countProof),
  };
  return { ballot, tracker: ballotTracker(poll, ballot) };
}

function hasOnlyKeys(obj, keys) {
  return obj !== null && typeof obj === "object" && !Array.isArray(obj)
    && Object.keys(obj).length === keys.length && keys.every((key) => Object.hasOwn(obj, key));
}

/**
 * A ballot's JSON decoded; throws BallotCryptoError on anything malformed: a bad voter id,
 * not k choices, not 2 pairs per choice proof, not max − min + 1 pairs in the count proof,
 * a value that does not decode, or any other field.
 * @param {object} json
 * @param {{k: number, min: number, max: number}} poll
 * @returns {{voter: string, choices: Array<{alpha: Point, beta: Point,
 *   proof: Array<[bigint, bigint]>}>, countProof: Array<[bigint, bigint]>}}
 */
export function decodeBallot(json, poll) {
  if (!hasOnlyKeys(json, ["voter", "choices", "count_proof"]) || !isVoterId(json.voter)) {
    throw new BallotCryptoError("bad_ballot", "a ballot is {voter, choices, count_proof}");
  }
  if (!Array.isArray(json.choices) || json.choices.length !== poll.k) {
    throw new BallotCryptoError("bad_ballot", "one ciphertext per option");
  }
  const choices = json.choices.map((ch) => {
    if (!hasOnlyKeys(ch, ["alpha", "beta", "proof"])) {
      throw new BallotCryptoError("bad_ballot", "a choice is {alpha, beta, proof}");
    }
    const proof = proofFromJson(ch.proof);
    if (proof.length !== 2) throw new BallotCryptoError("bad_ballot", "2 pairs per choice");
    return { alpha: pointFromHex(ch.alpha), beta: pointFromHex(ch.beta), proof };
  });
  const countProof = proofFromJson(json.count_proof);
  if (countProof.length !== poll.max - poll.min + 1) {
    throw new BallotCryptoError("bad_ballot", "max − min + 1 pairs in the count proof");
  }
  return { voter: json.voter, choices, countProof };
}

/**
 * Checks a ballot against the poll: its form and every proof (under the ballot's own
 * voter id: the caller checks that id is the sender's).
 * @param {Poll} poll
 * @param {object} json the ballot as sent
 * @returns {boolean}
 */
export function verifyBallot(poll, json) {
  const { context, publicKey: K, min, max } = poll;
  let b;
  try {
    b = decodeBallot(json, poll);
  } catch {
    return false;
  }
  const base = { context, voter: b.voter, publicKey: K };
  const choicesOk = b.choices.every((ch, m) => verifyEncryption({
    ...base, tag: TAG.choice, extra: u32(m), alpha: ch.alpha, beta: ch.beta, values: [0, 1],
    proof: ch.proof,
  }));
  return choicesOk && verifyEncryption({
    ...base, tag: TAG.count, extra: NO_EXTRA,
    alpha: sum(b.choices.map((ch) => ch.alpha)), beta: sum(b.choices.map((ch) => ch.beta)),
    values: range(min, max), proof: b.countProof,
  });
}

/**
 * The tracker: Hb("phonghop/tracker/v1", context, str(voter), α₀, β₀, …, α_{k−1}, β_{k−1},
 * then c and z of every proof in the JSON's order: option 0's pairs, option 1's, …, the
 * count proof's), as 64 hex digits. Throws BallotCryptoError on a malformed ballot.
 * @param {Poll} poll
 * @param {object} json the ballot as sent
 * @returns {string}
 */
export function ballotTracker(poll, json) {
  const b = decodeBallot(json, poll);
  const parts = [];
  for (const ch of b.choices) parts.push(ch.alpha.toBytes(), ch.beta.toBytes());
  for (const proof of [...b.choices.map((ch) => ch.proof), b.countProof]) {
    for (const [c, z] of proof) parts.push(scalarToBytes(c), scalarToBytes(z));
  }
  return toHex(Hb(TAG.tracker, poll.context, str(b.voter), ...parts));
}

/**
 * The tracker as shown to the voter: its first 16 hex digits in groups of four.
 * @param {string} tracker 64 hex digits
 * @returns {string} e.g. "7f3a-91c2-0b4e-d5a8"
 */
export function trackerDisplay(tracker) {
  return tracker.slice(0, 16).match(/.{4}/g).join("-");
}

// ---------------------------------------------------------------------------------------
// The count

/**
 * The aggregate (Aₘ, Bₘ) = (Σ αₘ, Σ βₘ) of ballots (JSON, as sent); (0, 0) without any.
 * @param {object[]} ballots
 * @param {Poll} poll
 * @returns {Array<{alpha: Point, beta: Point}>}
 */
export function aggregate(ballots, poll) {
  const decoded = ballots.map((b) => decodeBallot(b, poll));
  return range(0, poll.k - 1).map((m) => ({
    alpha: sum(decoded.map((b) => b.choices[m].alpha)),
    beta: sum(decoded.map((b) => b.choices[m].beta)),
  }));
}

/** @param {Array<{alpha: Point, beta: Point}>} agg @returns {object[]} its JSON form */
export function aggregateToJson(agg) {
  return agg.map(({ alpha, beta }) => ({ alpha: pointToHex(alpha), beta: pointToHex(beta) }));
}

/**
 * The aggregate's JSON decoded.
 * @param {object[]} json
 * @returns {Array<{alpha: Point, beta: Point}>}
 */
export function aggregateFromJson(json) {
  if (!Array.isArray(json)) throw new BallotCryptoError("bad_aggregate", "a list");
  return json.map((e) => ({ alpha: pointFromHex(e?.alpha), beta: pointFromHex(e?.beta) }));
}

function partialChallenge(context, j, m, A, B, X, D, P, Q) {
  return Hs(TAG.partial, context, u32(j), u32(m), A.toBytes(), B.toBytes(), X.toBytes(),
    D.toBytes(), P.toBytes(), Q.toBytes());
}

/**
 * Member j's partial decryptions of the aggregate and their proofs. Draws one w per option,
 * in order.
 * @param {object} a
 * @param {Uint8Array} a.context
 * @param {number} a.index j
 * @param {bigint} a.secret xⱼ
 * @param {Array<{alpha: Point, beta: Point}>} a.aggregate
 * @param {() => bigint} [rng]
 * @returns {{index: number, partials: Array<{d: string, c: string, z: string}>}}
 */
export function partialDecrypt(a, rng = systemRng) {
  const { context, index: j, secret: x } = a;
  const X = mulSecret(G, x);
  const partials = a.aggregate.map(({ alpha: A, beta: B }, m) => {
    const D = mulSecret(A, x);
    const w = draw(rng);
    const c = partialChallenge(context, j, m, A, B, X, D, mulSecret(G, w), mulSecret(A, w));
    return { d: pointToHex(D), c: scalarToHex(c), z: scalarToHex(mod(w + c * x)) };
  });
  return { index: j, partials };
}

/**
 * Checks one partial decryption's proof.
 * @param {object} a
 * @param {Uint8Array} a.context
 * @param {number} a.index j
 * @param {number} a.option m
 * @param {{alpha: Point, beta: Point}} a.aggregate (Aₘ, Bₘ)
 * @param {Point} a.verificationKey Xⱼ
 * @param {{d: string, c: string, z: string}} a.partial
 * @returns {boolean}
 */
export function verifyPartial(a) {
  try {
    const { alpha: A, beta: B } = a.aggregate;
    const X = a.verificationKey;
    const D = pointFromHex(a.partial.d);
    const c = scalarFromHex(a.partial.c);
    const z = scalarFromHex(a.partial.z);
    const P = mulPublic(G, z).subtract(mulPublic(X, c));
    const Q = mulPublic(A, z).subtract(mulPublic(D, c));
    return c === partialChallenge(a.context, a.index, a.option, A, B, X, D, P, Q);
  } catch {
    return false;
  }
}

/**
 * Checks a member's whole share (one valid partial per option).
 * @param {Uint8Array} context
 * @param {Array<{alpha: Point, beta: Point}>} agg
 * @param {Point} X member's verification key
 * @param {{index: number, partials: object[]}} share
 * @returns {boolean}
 */
export function verifyShare(context, agg, X, share) {
  return Array.isArray(share?.partials) && share.partials.length === agg.length
    && share.partials.every((partial, m) => verifyPartial({
      context, index: share.index, option: m, aggregate: agg[m], verificationKey: X, partial,
    }));
}

/**
 * The Lagrange coefficients at zero λⱼ = Π_{l≠j} l·(l − j)⁻¹ mod ℓ for the set `indices`.
 * @param {number[]} indices
 * @returns {Map<number, bigint>}
 */
export function lagrangeAtZero(indices) {
  const out = new Map();
  for (const j of indices) {
    let lambda = 1n;
    for (const l of indices) {
      if (l !== j) lambda = mod(lambda * BigInt(l) * Fn.inv(mod(BigInt(l - j))));
    }
    out.set(j, lambda);
  }
  return out;
}

/**
 * c ↦ c·G for c = 0 … max, by repeated addition, keyed by the point's hex.
 * @param {number} max
 * @returns {Map<string, number>}
 */
export function discreteLogTable(max) {
  const table = new Map();
  let P = IDENTITY;
  for (let c = 0; c <= max; c++) {
    table.set(pointToHex(P), c);
    P = P.add(G);
  }
  return table;
}

/**
 * Combines valid shares into the counts: the t lowest-numbered members among `shares`,
 * Mₘ = Bₘ − Σ λⱼ·Dⱼ,ₘ, countₘ from the table of c·G for c = 0 … voters. The caller has
 * verified the shares. Null when fewer than t (the poll is void) or a count is out of range.
 * @param {object} a
 * @param {Array<{alpha: Point, beta: Point}>} a.aggregate
 * @param {Array<{index: number, partials: object[]}>} a.shares valid shares
 * @param {number} a.t
 * @param {number} a.voters the number of counted ballots
 * @returns {{counts: number[], combined_from: number[]}|null}
 */
export function combine(a) {
  const chosen = [...a.shares].sort((x, y) => x.index - y.index).slice(0, a.t);
  if (chosen.length < a.t) return null;
  const indices = chosen.map((s) => s.index);
  const lambdas = lagrangeAtZero(indices);
  const table = discreteLogTable(a.voters);
  const counts = [];
  for (let m = 0; m < a.aggregate.length; m++) {
    let M = a.aggregate[m].beta;
    for (const s of chosen) {
      M = M.subtract(mulPublic(pointFromHex(s.partials[m].d), lambdas.get(s.index)));
    }
    const count = table.get(pointToHex(M));
    if (count === undefined) return null;
    counts.push(count);
  }
  return { counts, combined_from: indices };
}

// ---------------------------------------------------------------------------------------
// The board

/** The board's format version. */
export const BOARD_VERSION = "phonghop-board/1";

function sameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * @typedef {object} BoardCheck
 * @property {"verified"|"invalid"|"open"|"void"|"not_a_board"} status "verified": the
 *   published result follows from the published ballots; "invalid": something does not
 *   (see errors); "open" / "void": everything checks out so far but there is no result,
 *   the poll being open, or closed without t shares; "not_a_board": not a board of this
 *   version. `phonghop verify-poll` exits 0, 1, 3, 3 and 2 respectively.
 * @property {string[]} errors every problem found, in the order checked
 * @property {number[]|null} counts the verified counts
 */

/**
 * Verifies a published board (docs/BALLOT_CRYPTO.md §4), in order: every coefficient
 * proof; K, the Xⱼ and the context; every ballot's proofs and tracker, one per voter, in
 * tracker order; the aggregate; every partial decryption's proof; the combination and the
 * counts. Each step needs the ones before: the first step with problems ends the check.
 * @param {object} board the board JSON (parsed)
 * @returns {BoardCheck}
 */
export function verifyBoard(board) {
  if (board === null || typeof board !== "object" || board.version !== BOARD_VERSION) {
    return { status: "not_a_board", errors: ["not a phonghop-board/1 document"], counts: null };
  }
  const errors = [];
  let outcome = null;
  try {
    outcome = checkBoard(board, errors);
  } catch (err) {
    errors.push(`malformed: ${err instanceof BallotCryptoError ? err.message : String(err)}`);
  }
  if (errors.length) return { status: "invalid", errors, counts: null };
  return { status: outcome.status, errors, counts: outcome.counts ?? null };
}

const isString = (x) => typeof x === "string";
const BOARD_KEYS = ["version", "poll", "members", "public_key", "context", "ballots",
  "aggregate", "shares", "result"];
const POLL_KEYS = ["poll_uid", "title", "options", "min", "max", "n", "t"];
const MEMBER_KEYS = ["index", "user_id", "name", "transport_key", "commitments", "proofs"];

function checkPollRecord(poll) {
  return hasOnlyKeys(poll, POLL_KEYS) && isString(poll.poll_uid) && isString(poll.title)
    && Array.isArray(poll.options) && poll.options.every(isString)
    && [poll.min, poll.max, poll.n, poll.t].every(Number.isInteger);
}

function malformed(what) {
  return new BallotCryptoError("bad_board", what);
}

/**
 * The board's steps; pushes problems on `errors` and answers {status, counts} (meaningful
 * only without problems).
 */
function checkBoard(board, errors) {
  if (!hasOnlyKeys(board, BOARD_KEYS)) throw malformed("the board's fields");
  const poll = board.poll;
  if (!checkPollRecord(poll)) throw malformed("poll");
  const { n, t } = poll;
  const ceremony = ceremonyContext(poll.poll_uid, n, t);
  const stop = { status: "invalid" };

  // 1. Every coefficient proof.
  const members = board.members;
  if (!Array.isArray(members) || members.length !== n) throw malformed("members: not n");
  members.forEach((m, i) => {
    if (!hasOnlyKeys(m, MEMBER_KEYS) || !isVoterId(m.user_id) || !isString(m.name)) {
      throw malformed(`members[${i}]`);
    }
    if (m.index !== i + 1) throw malformed(`members[${i}]: index out of order`);
    if (!verifyRound1(ceremony, n, t, m)) errors.push(`member ${i + 1}: round 1 refused`);
  });
  if (errors.length) return stop;

  // 2. K, the Xⱼ and the context.
  const K = publicKey(members).precompute(8); // see pollFromRecord
  if (board.public_key !== pointToHex(K)) errors.push("public_key: not Σ Aᵢ,₀");
  const context = pollContext(ceremony, poll, K);
  if (board.context !== toHex(context)) errors.push("context: does not follow from the poll");
  if (errors.length) return stop;
  const X = new Map(members.map((m) => [m.index, verificationKey(members, m.index)]));
  const p = { context, publicKey: K, k: poll.options.length, min: poll.min, max: poll.max };

  // 3. Every ballot's proofs and tracker, one ballot per voter, in tracker order.
  if (!Array.isArray(board.ballots)) throw malformed("ballots");
  const voters = new Set();
  let previous = "";
  board.ballots.forEach((entry, i) => {
    if (!hasOnlyKeys(entry, ["tracker", "ballot"])) throw malformed(`ballots[${i}]`);
    const { ballot } = entry;
    if (!verifyBallot(p, ballot)) {
      errors.push(`ballot ${i}: invalid`);
      return;
    }
    if (entry.tracker !== ballotTracker(p, ballot)) errors.push(`ballot ${i}: tracker`);
    else if (entry.tracker < previous) errors.push(`ballot ${i}: not in tracker order`);
    previous = entry.tracker;
    if (voters.has(ballot.voter)) errors.push(`ballot ${i}: voter ${ballot.voter} twice`);
    voters.add(ballot.voter);
  });
  if (errors.length) return stop;

  // 4. The aggregate (null while the poll is open, and so is everything after it).
  if (board.aggregate === null) {
    if (board.shares !== null || board.result !== null) throw malformed("no aggregate");
    return { status: "open" };
  }
  const agg = aggregate(board.ballots.map((e) => e.ballot), p);
  if (!sameJson(board.aggregate, aggregateToJson(agg))) {
    errors.push("aggregate: not the sum of the ballots");
    return stop;
  }

  // 5. Every partial decryption's proof, members in index order.
  const shares = board.shares;
  if (!Array.isArray(shares)) throw malformed("shares");
  let last = 0;
  shares.forEach((share, i) => {
    if (!hasOnlyKeys(share, ["index", "partials"]) || !X.has(share.index)) {
      throw malformed(`shares[${i}]`);
    }
    if (share.index <= last) errors.push(`share ${share.index}: out of member order`);
    last = share.index;
    if (!verifyShare(context, agg, X.get(share.index), share)) {
      errors.push(`share ${share.index}: partial decryption proof`);
    }
  });
  if (errors.length) return stop;

  // 6. The combination and the counts.
  const result = board.result;
  if (result === null) {
    if (shares.length >= t) errors.push("result: missing with t shares");
    return errors.length ? stop : { status: "void" };
  }
  if (!hasOnlyKeys(result, ["counts", "voters", "combined_from"])) throw malformed("result");
  if (shares.length < t) {
    errors.push("result: fewer than t shares (void)");
    return stop;
  }
  const combined = combine({ aggregate: agg, shares, t, voters: board.ballots.length });
  if (result.voters !== board.ballots.length) errors.push("result: voters");
  if (combined === null) errors.push("result: the shares combine to no count");
  else if (!sameJson(result.combined_from, combined.combined_from)) {
    errors.push("result: combined_from");
  } else if (!sameJson(result.counts, combined.counts)) errors.push("result: counts");
  return errors.length ? stop : { status: "verified", counts: combined.counts };
}

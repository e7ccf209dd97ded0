// The test vectors' deterministic randomness (docs/BALLOT_CRYPTO.md, appendix): draw n
// (from 0) of the stream `label` is Hs("phonghop/test/rng/v1", seed, str(label), u32(n)).

import { fromHex, Hs, str, u32 } from "../../../../static/secret_ballot.js";

/**
 * The stream `label` of the vectors' rng, one scalar per call.
 * @param {string} seedHex the vectors' seed, hex
 * @param {string} label e.g. "member/1/round1", "ballot/42", "partial/2"
 * @returns {() => bigint}
 */
export function streamRng(seedHex, label) {
  const seed = fromHex(seedHex);
  let n = 0;
  return () => Hs("phonghop/test/rng/v1", seed, str(label), u32(n++));
}

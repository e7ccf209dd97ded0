// Seals or opens board key files with static/board_key_file.js, for tests/voting/secret/
// test_keyfile.py: one JSON request on stdin ({op: "seal"|"open", ...}), one JSON answer
// on stdout ({ok: result} or {error: code}).
import { openKey, sealKey } from "../../../../static/board_key_file.js";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString("utf8"));
try {
  const result = request.op === "seal"
    ? await sealKey(request.secrets, request.poll_uid, request.index, request.passphrase)
    : await openKey(request.doc, request.passphrase);
  process.stdout.write(JSON.stringify({ ok: result }));
} catch (err) {
  process.stdout.write(JSON.stringify({ error: err.code || String(err) }));
}

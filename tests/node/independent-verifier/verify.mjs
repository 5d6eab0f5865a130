// An independent verifier of FastMcp audit logs, written from docs/audit-format.md alone (issue #13):
// the point is that the document is precise enough for a second implementation to agree with
// fastmcp-verify. Usage: node verify.mjs [--json] --key PUB.pem|FOLDER [--key ...] LOG_FOLDER...
// Prints VALID/INVALID per folder with reasons; exit 0 when every folder is VALID, 1 otherwise, 2 on usage.
import { createHash, createPublicKey, verify as ecVerify } from 'node:crypto';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { decompress } from 'fzstd';

const sha256 = (...parts) => { const h = createHash('sha256'); for (const p of parts) h.update(p); return h.digest(); };
const hex = (b) => Buffer.from(b).toString('hex');
const ZERO = Buffer.alloc(32);
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const MAX_LEN = 67108864;
const MAX_BODY = 16777216; // a record body's upper bound (audit-format.md §5)

// §3 CRC-32C (Castagnoli, reflected).
const CRC_TABLE = (() => { const t = new Uint32Array(256); for (let i = 0; i < 256; i++) { let c = i; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; t[i] = c >>> 0; } return t; })();
function crc32c(...parts) { let c = 0xffffffff; for (const p of parts) for (let i = 0; i < p.length; i++) c = CRC_TABLE[(c ^ p[i]) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; }

class Fail extends Error {}

// §2 keys: key id = hex SHA-256 of the DER SubjectPublicKeyInfo.
function loadKeys(paths) {
  const keys = new Map();
  for (const p of paths) {
    const files = statSync(p).isDirectory() ? readdirSync(p).filter((f) => f.endsWith('.pem')).map((f) => join(p, f)) : [p];
    for (const f of files) {
      const key = createPublicKey(readFileSync(f));
      keys.set(hex(sha256(key.export({ type: 'spki', format: 'der' }))), key);
    }
  }
  return keys;
}

// §4 notes: type line, fields in exactly the listed order, canonical values.
const FIELDS = {
  'fastmcp-audit-segment': { v1: ['chain', 'segment', 'first-sequence', 'created', 'checkpoint-interval-ms', 'key', 'prev-seal', 'prev-head'] },
  'fastmcp-audit-checkpoint': { v1: ['chain', 'segment', 'sequence', 'segment-records', 'head', 'root', 'time', 'key'] },
  'fastmcp-audit-seal': { v1: ['chain', 'segment', 'first-sequence', 'record-count', 'head', 'root', 'header', 'sealed', 'recovered', 'key'] },
};
FIELDS['fastmcp-audit-segment'].v2 = [...FIELDS['fastmcp-audit-segment'].v1, 'recovery', 'recovered-segment', 'covered-records', 'uncovered-records', 'cut-bytes', 'lost-records', 'last-signed', 'prev-checkpoint', 'tampering'];
FIELDS['fastmcp-audit-checkpoint'].v2 = ['chain', 'segment', 'sequence', 'segment-records', 'acknowledged', 'head', 'root', 'time', 'key'];
FIELDS['fastmcp-audit-seal'].v2 = FIELDS['fastmcp-audit-seal'].v1;
const INT_FIELDS = new Set(['segment', 'first-sequence', 'checkpoint-interval-ms', 'sequence', 'segment-records', 'acknowledged', 'record-count', 'recovered-segment', 'covered-records', 'uncovered-records', 'cut-bytes', 'lost-records']);
const HASH_FIELDS = new Set(['prev-seal', 'prev-head', 'head', 'root', 'header', 'key']);
const TIME_FIELDS = new Set(['created', 'time', 'sealed', 'last-signed']);
const CHAIN_RE = /^[A-Za-z0-9._-]{1,64}$/;

function parseTime(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 19) !== s.slice(0, 19)) return null;
  return BigInt(ms) * 1000n + BigInt(m[7]);
}

function parseNote(bytes, expectedType, signed) {
  const text = Buffer.from(bytes).toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(Buffer.from(bytes))) throw new Fail(`${expectedType} note is not UTF-8`);
  if (!text.endsWith('\n')) throw new Fail(`${expectedType} note does not end in a line end`);
  const lines = text.slice(0, -1).split('\n');
  const typeMatch = /^(fastmcp-audit-[a-z]+) (v1|v2)$/.exec(lines[0]);
  if (!typeMatch || typeMatch[1] !== expectedType) throw new Fail(`not a ${expectedType} note (type line ${JSON.stringify(lines[0])})`);
  const version = typeMatch[2];
  const names = FIELDS[expectedType][version];
  const want = names.length + 1 + (signed ? 1 : 0);
  if (lines.length !== want) throw new Fail(`${expectedType} ${version} note has ${lines.length - 1} fields, expected ${want - 1}`);
  const note = { version: Number(version[1]), fields: {} };
  names.forEach((name, i) => {
    const line = lines[i + 1];
    const prefix = name + ': ';
    if (!line.startsWith(prefix)) throw new Fail(`${expectedType} field ${i + 1} is not ${name}`);
    const v = line.slice(prefix.length);
    if (v !== v.trim() || v.length === 0) throw new Fail(`${expectedType} ${name} has spaces or is empty`);
    if (INT_FIELDS.has(name)) { if (!/^(0|[1-9]\d*)$/.test(v)) throw new Fail(`${expectedType} ${name} is not a canonical integer`); note.fields[name] = BigInt(v); }
    else if (HASH_FIELDS.has(name)) { if (!/^[0-9a-f]{64}$/.test(v)) throw new Fail(`${expectedType} ${name} is not 64 hex digits`); note.fields[name] = Buffer.from(v, 'hex'); }
    else if (TIME_FIELDS.has(name)) { const t = parseTime(v); if (t === null) throw new Fail(`${expectedType} ${name} is not a canonical time`); note.fields[name] = t; }
    else note.fields[name] = v;
  });
  if (note.fields.chain !== undefined && !CHAIN_RE.test(note.fields.chain)) throw new Fail(`${expectedType} chain id is not valid`);
  if (note.fields.recovered !== undefined && !['yes', 'no'].includes(note.fields.recovered)) throw new Fail('seal recovered is not yes/no');
  if (signed) {
    const sigLine = lines[lines.length - 1];
    if (!sigLine.startsWith('signature: ')) throw new Fail(`${expectedType} has no signature line`);
    const b64 = sigLine.slice('signature: '.length);
    const sig = Buffer.from(b64, 'base64');
    if (sig.toString('base64') !== b64 || sig.length !== 64) throw new Fail(`${expectedType} signature is not canonical base64 of 64 bytes`);
    note.signature = sig;
    note.message = Buffer.from(bytes).subarray(0, Buffer.byteLength(text) - Buffer.byteLength(sigLine) - 1);
  }
  note.bytes = Buffer.from(bytes);
  return note;
}

function checkSignature(keys, note, what) {
  const key = keys.get(hex(note.fields.key));
  if (!key) throw new Fail(`untrusted-key: ${what} names key ${hex(note.fields.key)}, which is not trusted`);
  if (!ecVerify('sha256', note.message, { key, dsaEncoding: 'ieee-p1363' }, note.signature)) throw new Fail(`${what}: the signature does not verify`);
  const s = BigInt('0x' + hex(note.signature.subarray(32)));
  if (note.version >= 2 && s > (N - 1n) / 2n) throw new Fail(`high-s: ${what} carries a high s`);
}

// §6 Merkle tree (RFC 6962).
function merkleRoot(leaves) {
  if (leaves.length === 0) return sha256(Buffer.alloc(0));
  if (leaves.length === 1) return leaves[0];
  let k = 1; while (k * 2 < leaves.length) k *= 2;
  return sha256(Buffer.from([1]), merkleRoot(leaves.slice(0, k)), merkleRoot(leaves.slice(k)));
}

// §3 frames. In an .open segment (§3.1) zero bytes from a frame boundary to the end of the file are its end.
function readFrames(data, openTail = false) {
  const frames = [];
  let off = 0;
  while (off < data.length) {
    if (openTail && data[off] === 0 && data.subarray(off).every((b) => b === 0)) break;
    if (openTail) {
      // §7.1: in an open segment a frame being written (the file ends inside it, or it is unreadable and every
      // byte after its end is zero, §3.1) is reported as a warning and ends the segment.
      try { off = readOneFrame(data, off, frames); } catch (e) {
        if (!(e instanceof Fail)) throw e;
        if (e.message.startsWith('data ends inside') || onlyZerosAfterFrame(data, off)) { frames.torn = `${e.message}`; break; }
        throw e;
      }
      continue;
    }
    off = readOneFrame(data, off, frames);
  }
  return frames;
}

// §3.1: a frame ends at offset + 24 + stored-length when its header has the magic and an in-range length, else after the header.
function onlyZerosAfterFrame(data, off) {
  let end = Math.min(data.length, off + 24);
  if (data.length - off >= 24 && data.toString('latin1', off, off + 4) === 'FMA1') {
    const stored = data.readUInt32LE(off + 8);
    if (stored >= 1 && stored <= MAX_LEN) end = Math.min(data.length, off + 24 + stored);
  }
  return data.subarray(end).every((b) => b === 0);
}

function readOneFrame(data, off, frames) {
  {
    if (data.length - off < 24) throw new Fail(`data ends inside a frame header at offset ${off}`);
    const h = data.subarray(off, off + 24);
    if (h.toString('latin1', 0, 4) !== 'FMA1') throw new Fail(`bad magic at offset ${off}`);
    const kind = h[4], codec = h[5];
    if (kind < 1 || kind > 4) throw new Fail(`unknown frame kind ${kind} at offset ${off}`);
    if (codec > 1) throw new Fail(`unknown codec ${codec} at offset ${off}`);
    if (h.readUInt16LE(6) !== 0) throw new Fail(`reserved bytes not zero at offset ${off}`);
    const stored = h.readUInt32LE(8), raw = h.readUInt32LE(12), count = h.readUInt32LE(16), crc = h.readUInt32LE(20);
    if (stored < 1 || stored > MAX_LEN || raw < 1 || raw > MAX_LEN) throw new Fail(`frame length out of range at offset ${off}`);
    if (codec === 0 && raw !== stored) throw new Fail(`codec 0 frame with raw-length != stored-length at offset ${off}`);
    if (kind === 2 ? count === 0 : count !== 0) throw new Fail(`record-count ${count} not allowed for kind ${kind} at offset ${off}`);
    if (kind !== 2 && codec !== 0) throw new Fail(`a note frame is compressed at offset ${off}`);
    if (data.length - off - 24 < stored) throw new Fail(`data ends inside a frame at offset ${off}`);
    const payload = data.subarray(off + 24, off + 24 + stored);
    if (crc32c(h.subarray(0, 20), payload) !== crc) throw new Fail(`wrong CRC at offset ${off}`);
    let decoded = payload;
    if (codec === 1) {
      try { decoded = Buffer.from(decompress(new Uint8Array(payload))); } catch (e) { throw new Fail(`zstd payload does not decode at offset ${off}: ${e.message}`); }
      if (decoded.length !== raw) throw new Fail(`payload decodes to ${decoded.length} bytes, not raw-length ${raw}, at offset ${off}`);
      checkZstdChecksum(payload, decoded, off);
    }
    frames.push({ kind, count, payload: decoded, offset: off });
    return off + 24 + stored;
  }
}

// §3 zstd: the writer sets the content checksum flag; when a frame has it, the last 4 bytes of the frame
// are the low 32 bits of XXH64 (seed 0) of the decoded content and must match (fzstd does not check it).
const M64 = (1n << 64n) - 1n;
const P1 = 11400714785074694791n, P2 = 14029467366897019727n, P3 = 1609587929392839161n, P4 = 9650029242287828579n, P5 = 2870177450012600261n;
const rotl = (x, r) => ((x << BigInt(r)) | (x >> BigInt(64 - r))) & M64;
const round = (acc, lane) => (rotl((acc + lane * P2) & M64, 31) * P1) & M64;
const merge = (acc, v) => ((((acc ^ round(0n, v)) * P1) & M64) + P4) & M64;
function xxh64(b) {
  let p = 0, h;
  const len = b.length;
  if (len >= 32) {
    let v1 = (P1 + P2) & M64, v2 = P2, v3 = 0n, v4 = (M64 + 1n - P1) & M64;
    while (p + 32 <= len) {
      v1 = round(v1, b.readBigUInt64LE(p)); v2 = round(v2, b.readBigUInt64LE(p + 8));
      v3 = round(v3, b.readBigUInt64LE(p + 16)); v4 = round(v4, b.readBigUInt64LE(p + 24)); p += 32;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) & M64;
    h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4);
  } else h = P5;
  h = (h + BigInt(len)) & M64;
  while (p + 8 <= len) { h = (rotl(h ^ round(0n, b.readBigUInt64LE(p)), 27) * P1 + P4) & M64; p += 8; }
  if (p + 4 <= len) { h = (rotl(h ^ ((BigInt(b.readUInt32LE(p)) * P1) & M64), 23) * P2 + P3) & M64; p += 4; }
  while (p < len) { h = (rotl(h ^ ((BigInt(b[p]) * P5) & M64), 11) * P1) & M64; p++; }
  h ^= h >> 33n; h = (h * P2) & M64; h ^= h >> 29n; h = (h * P3) & M64; h ^= h >> 32n;
  return h;
}

function checkZstdChecksum(payload, decoded, off) {
  if (payload.length < 5 || payload.readUInt32LE(0) !== 0xfd2fb528) throw new Fail(`zstd payload has a bad magic at offset ${off}`);
  if ((payload[4] & 0x04) === 0) return; // no checksum in this frame: the CRC-32C still covers every stored byte
  const want = payload.readUInt32LE(payload.length - 4);
  if (Number(xxh64(decoded) & 0xffffffffn) !== want) throw new Fail(`zstd content checksum mismatch at offset ${off}`);
}

// §7.1 one segment.
function walkSegment(keys, data, expect, isOpenNewest, name) {
  const frames = readFrames(data, isOpenNewest);
  if (frames.length === 0 || frames[0].kind !== 1) throw new Fail(`${name}: the first frame is not a header`);
  const header = parseNote(frames[0].payload, 'fastmcp-audit-segment', false);
  const hf = header.fields;
  checkHeaderConsistency(header, name);
  if (hf.segment !== expect.index) throw new Fail(`${name}: header says segment ${hf.segment}, the name says ${expect.index}`);
  if (expect.chain !== null && hf.chain !== expect.chain) throw new Fail(`${name}: header chain ${hf.chain} is not ${expect.chain}`);
  if (hf['first-sequence'] !== expect.firstSequence || !hf['prev-seal'].equals(expect.prevSeal) || !hf['prev-head'].equals(expect.prevHead))
    throw new Fail(`${name}: the header does not link to the previous segment`);
  if (!keys.has(hex(hf.key))) throw new Fail(`untrusted-key: ${name} names key ${hex(hf.key)}`);
  let chain = sha256(header.bytes);
  const leaves = [];
  let seq = hf['first-sequence'];
  let seal = null;
  const checkpoints = [];
  const approvalStates = []; // §5 type 15, for the generation rule of §7.2
  for (let i = 1; i < frames.length; i++) {
    const f = frames[i];
    if (seal) throw new Fail(`${name}: data follows the seal`);
    if (f.kind === 1) throw new Fail(`${name}: a second header frame at offset ${f.offset}`);
    if (f.kind === 2) {
      let p = 0;
      for (let r = 0; r < f.count; r++) {
        if (f.payload.length - p < 4) throw new Fail(`${name}: record entry lengths do not fit the frame at offset ${f.offset}`);
        const len = f.payload.readUInt32LE(p);
        if (len < 19 || len > MAX_BODY || f.payload.length - p - 4 < len + 32) throw new Fail(`${name}: record entry lengths do not fit the frame at offset ${f.offset}`);
        const body = f.payload.subarray(p + 4, p + 4 + len);
        const stored = f.payload.subarray(p + 4 + len, p + 4 + len + 32);
        if (body.readBigUInt64LE(0) !== seq) throw new Fail(`${name}: record ${body.readBigUInt64LE(0)} is not the next sequence ${seq}`);
        const leaf = sha256(Buffer.from([0]), body);
        chain = sha256(chain, leaf);
        if (!chain.equals(stored)) throw new Fail(`${name}: record ${seq}: the chain hash does not match`);
        leaves.push(leaf);
        if (body[16] === 15) {
          let json = null;
          try { json = JSON.parse(body.subarray(17).toString('utf8')); } catch { json = null; }
          if (json && typeof json.success === 'boolean' && typeof json.detail === 'string') approvalStates.push({ seq, success: json.success, detail: json.detail });
        }
        seq++;
        p += 4 + len + 32;
      }
      if (p !== f.payload.length) throw new Fail(`${name}: the frame holds more than its record-count entries at offset ${f.offset}`);
    } else if (f.kind === 3) {
      const cp = parseNote(f.payload, 'fastmcp-audit-checkpoint', true);
      if (cp.version < header.version) throw new Fail(`${name}: a checkpoint has a lower version than the header`);
      if (!cp.fields.key.equals(hf.key)) throw new Fail(`key-mismatch: ${name}: a checkpoint names another key than the header`);
      checkSignature(keys, cp, `${name}: checkpoint at offset ${f.offset}`);
      const c = cp.fields;
      if (c.chain !== hf.chain || c.segment !== hf.segment) throw new Fail(`${name}: a checkpoint names another chain or segment`);
      if (c.sequence !== seq || c['segment-records'] !== BigInt(leaves.length)) throw new Fail(`${name}: a checkpoint's position differs from the log`);
      if (!c.head.equals(chain) || !c.root.equals(merkleRoot(leaves))) throw new Fail(`${name}: a checkpoint's head or root differs from the log`);
      if (cp.version >= 2 && c.acknowledged < c.sequence) throw new Fail(`${name}: a checkpoint's acknowledged is below its sequence`);
      checkpoints.push(c);
    } else {
      seal = parseNote(f.payload, 'fastmcp-audit-seal', true);
      const s = seal.fields;
      if (seal.version < header.version) throw new Fail(`${name}: the seal has a lower version than the header`);
      if (s.recovered === 'no' && !s.key.equals(hf.key)) throw new Fail(`key-mismatch: ${name}: the seal names another key than the header`);
      checkSignature(keys, seal, `${name}: seal`);
      if (s.chain !== hf.chain || s.segment !== hf.segment || s['first-sequence'] !== hf['first-sequence']) throw new Fail(`${name}: the seal names another chain, segment or first sequence`);
      if (s['record-count'] !== BigInt(leaves.length) || !s.head.equals(chain) || !s.root.equals(merkleRoot(leaves))) throw new Fail(`${name}: the seal's count, head or root differs from the records`);
      if (!s.header.equals(sha256(header.bytes))) throw new Fail(`${name}: the seal's header hash differs`);
    }
  }
  if (!seal && !isOpenNewest) throw new Fail(`${name}: no seal (only the newest .open segment may be unsealed)`);
  return { header, seal, nextSequence: seq, head: chain, leaves: leaves.length, root: merkleRoot(leaves), checkpoints, torn: frames.torn, approvalStates };
}

// §7.2 "Approval state generations": H, its sequence, and R (a refusal since H), across the chain in order.
function checkGenerations(state, records, label, errors) {
  for (const r of records) {
    if (!r.success) { state.refused = true; continue; }
    const m = /^approvals\.stateFile generation ([1-9][0-9]{0,18}):/.exec(r.detail);
    if (!m) continue;
    const n = BigInt(m[1]);
    if (n > 9223372036854775807n) continue;
    if (n < state.highest && !state.refused)
      errors.push(`${label}: approval-generation: record ${r.seq} binds generation ${n}, lower than generation ${state.highest} at sequence ${state.at}`);
    if (state.refused || n > state.highest) { state.highest = n; state.at = r.seq; }
    state.refused = false;
  }
}

function checkHeaderConsistency(header, name) {
  if (header.version < 2) return;
  const h = header.fields;
  if (!['none', 'crash', 'tampered'].includes(h.recovery)) throw new Fail(`${name}: recovery ${h.recovery} is unknown`);
  const zeros = ['recovered-segment', 'covered-records', 'uncovered-records', 'cut-bytes', 'lost-records'].every((k) => h[k] === 0n);
  if (h.recovery === 'none' && (!zeros || h['prev-checkpoint'] !== 'none')) throw new Fail(`${name}: header start state is inconsistent`);
  if (h.recovery === 'crash' && (h['recovered-segment'] === 0n || h['prev-checkpoint'] !== 'none')) throw new Fail(`${name}: header start state is inconsistent`);
  if (h.recovery === 'tampered' && (h['recovered-segment'] === 0n || h.tampering === 'none')) throw new Fail(`${name}: header start state is inconsistent`);
}

// §1 layout: a folder of chain folders, or one chain's folder.
function discover(folder) {
  const isSegment = (n) => /^\d{12}\.(seg|open)$/.test(n);
  const chains = [];
  const entries = readdirSync(folder, { withFileTypes: true });
  if (entries.some((e) => e.isFile() && (isSegment(e.name) || e.name === 'checkpoint'))) chains.push({ name: null, dir: folder });
  for (const e of entries) if (e.isDirectory() && CHAIN_RE.test(e.name)) {
    const names = readdirSync(join(folder, e.name));
    if (names.some((n) => isSegment(n) || n === 'checkpoint' || n === 'checkpoints')) chains.push({ name: e.name, dir: join(folder, e.name) });
  }
  return chains;
}

function verifyChain(keys, chain, errors, warnings) {
  const label = chain.name ?? '(folder)';
  const segments = new Map();
  for (const n of readdirSync(chain.dir)) {
    const m = /^(\d{12})\.(seg|open)$/.exec(n);
    if (!m) continue;
    const index = BigInt(m[1]);
    if (index === 0n) { errors.push(`${label}: segment index 0`); continue; }
    if (segments.has(index)) { errors.push(`${label}: segment ${index} is present twice`); continue; }
    segments.set(index, { name: n, open: m[2] === 'open' });
  }
  const indexes = [...segments.keys()].sort((a, b) => (a < b ? -1 : 1));
  const last = indexes.length ? indexes[indexes.length - 1] : 0n;
  let expect = { chain: chain.name, index: 1n, firstSequence: 0n, prevSeal: ZERO, prevHead: ZERO };
  const positions = new Map(); // segment -> walk result
  let endsOpen = false;
  const generations = { highest: 0n, at: -1n, refused: false };
  for (let i = 1n; i <= last; i++) {
    let seg = segments.get(i);
    if (!seg) {
      const next = segments.get(i + 1n);
      const linked = next && setAsideLink(keys, chain, i, expect, next, errors);
      if (!linked) { errors.push(`${label}: segment ${i} is missing (deleted)`); return; }
      expect = linked;
      continue;
    }
    if (seg.open && i !== last) { errors.push(`${label}: segment ${i} is open but not the newest`); return; }
    try {
      const r = walkSegment(keys, readFileSync(join(chain.dir, seg.name)), expect, seg.open && i === last, `${label}/${seg.name}`);
      if (r.header.version >= 2 && r.header.fields.tampering !== 'none' && r.header.fields.recovery !== 'tampered')
        errors.push(`${label}: at the start of segment ${i} the writer found tampering: ${r.header.fields.tampering}`);
      positions.set(i, r);
      checkGenerations(generations, r.approvalStates, label, errors);
      if (r.torn) warnings.push(`${label}/${seg.name}: open segment ends in an incomplete frame (a write in progress or a crash): ${r.torn}`);
      if (!r.seal) { endsOpen = true; expect = { ...expect, firstSequence: r.nextSequence }; break; }
      expect = { chain: r.header.fields.chain, index: i + 1n, firstSequence: r.nextSequence, prevSeal: sha256(r.seal.bytes), prevHead: r.seal.fields.head };
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errors.push(`${label}: ${e.message}`);
      return;
    }
  }
  // §7.3 the checkpoint object against the log.
  const cpPath = join(chain.dir, 'checkpoint');
  let objectInLog = false;
  if (existsSync(cpPath)) {
    try {
      const cp = parseNote(readFileSync(cpPath), 'fastmcp-audit-checkpoint', true);
      checkSignature(keys, cp, `${label}/checkpoint`);
      const c = cp.fields;
      const at = positions.get(c.segment);
      if (!at) { if (c.segment > last) throw new Fail(`truncated-log: the checkpoint names segment ${c.segment}, the log ends before it`); else throw new Fail(`the checkpoint names segment ${c.segment}, which cannot be checked`); }
      if (!c.key.equals(at.header.fields.key)) throw new Fail(`key-mismatch: the checkpoint names another key than segment ${c.segment}`);
      if (c['segment-records'] > BigInt(at.leaves)) throw new Fail('truncated-log: the checkpoint covers records the log no longer has');
      const match = c['segment-records'] === BigInt(at.leaves) ? (c.head.equals(at.head) && c.root.equals(at.root)) : at.checkpoints.some((k) => k['segment-records'] === c['segment-records'] && k.head.equals(c.head) && k.root.equals(c.root));
      if (!match) {
        // Recompute at the checkpoint's position from the segment itself.
        const seg = segments.get(c.segment);
        if (!checkpointMatches(readFileSync(join(chain.dir, seg.name)), c, seg.open)) throw new Fail('the checkpoint object differs from the log at its position');
      }
      objectInLog = true;
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errors.push(`${label}: checkpoint: ${e.message}`);
    }
  }
  verifyPublished(keys, chain, label, segments, positions, { endsOpen, next: expect, objectInLog }, errors, warnings);
}

// §7.3 every published checkpoint ({chain}/checkpoints/{sequence:20}.checkpoint) against the log.
function verifyPublished(keys, chain, label, segments, positions, end, errors, warnings) {
  const dir = join(chain.dir, 'checkpoints');
  if (!existsSync(dir)) return;
  const n = end.next.firstSequence; // records in the log
  const lastSegment = end.endsOpen ? end.next.index : end.next.index - 1n;
  const beyond = [];
  for (const name of readdirSync(dir).sort()) {
    const m = /^(\d{20})\.checkpoint$/.exec(name);
    if (!m) continue;
    try {
      const cp = parseNote(readFileSync(join(dir, name)), 'fastmcp-audit-checkpoint', true);
      checkSignature(keys, cp, `${label}/checkpoints/${name}`);
      const c = cp.fields;
      if (c.sequence !== BigInt(m[1])) throw new Fail(`holds sequence ${c.sequence}, not the one its name gives`);
      if (chain.name !== null && c.chain !== chain.name) throw new Fail(`is for chain ${c.chain}`);
      if (c.sequence > n || (c.sequence === n && c.segment > lastSegment)) { beyond.push({ name, c }); continue; }
      const at = positions.get(c.segment);
      const seg = segments.get(c.segment);
      if (!at || c['segment-records'] > BigInt(at.leaves) || at.header.fields['first-sequence'] + c['segment-records'] !== c.sequence)
        throw new Fail(`checkpoint-mismatch: the log runs past sequence ${c.sequence} but has no position ${c['segment-records']} records into segment ${c.segment}`);
      if (!c.key.equals(at.header.fields.key)) throw new Fail(`key-mismatch: names another key than segment ${c.segment}`);
      if (!checkpointMatches(readFileSync(join(chain.dir, seg.name)), c, seg.open)) throw new Fail(`checkpoint-mismatch: the log differs at sequence ${c.sequence} (rolled back or forked)`);
    } catch (e) {
      if (!(e instanceof Fail)) throw e;
      errors.push(`${label}: published checkpoint ${name}: ${e.message}`);
    }
  }
  if (beyond.length === 0) return;
  // The open segment of a running gateway: all past the end lie in the segment after the last sealed one, starting
  // where the log ends, and (once a segment shipped) the checkpoint object lies inside the log.
  const open = !end.endsOpen && (end.next.index === 1n || end.objectInLog) &&
    beyond.every(({ c }) => c.segment === end.next.index && c.sequence - c['segment-records'] === n);
  if (open) warnings.push(`${label}: open-segment-not-shipped: ${beyond.length} published checkpoint(s) lie in segment ${end.next.index}, not in the store`);
  else for (const { name } of beyond) errors.push(`${label}: published checkpoint ${name}: truncated-log: beyond the end of the log`);
}

function checkpointMatches(data, c, open) {
  const frames = readFrames(data, open);
  const header = frames[0].payload;
  let chain = sha256(header); const leaves = [];
  if (c['segment-records'] === 0n) return c.head.equals(chain) && c.root.equals(merkleRoot([]));
  for (const f of frames) if (f.kind === 2) {
    let p = 0;
    for (let r = 0; r < f.count; r++) {
      const len = f.payload.readUInt32LE(p);
      const leaf = sha256(Buffer.from([0]), f.payload.subarray(p + 4, p + 4 + len));
      chain = sha256(chain, leaf); leaves.push(leaf); p += 4 + len + 32;
      if (BigInt(leaves.length) === c['segment-records']) return c.head.equals(chain) && c.root.equals(merkleRoot(leaves));
    }
  }
  return false;
}

// §7.2 set-aside segments: an error, but the walk continues past it.
function setAsideLink(keys, chain, index, expect, next, errors) {
  let header;
  try {
    const frames = readFrames(readFileSync(join(chain.dir, next.name)));
    header = parseNote(frames[0].payload, 'fastmcp-audit-segment', false);
  } catch { return null; }
  const h = header.fields;
  if (header.version < 2 || h.recovery !== 'tampered' || h['recovered-segment'] !== index) return null;
  const label = chain.name ?? '(folder)';
  if (h['prev-checkpoint'] === 'none') {
    errors.push(`${label}: tampered: segment ${index} was set aside (${h.tampering}); segment ${index + 1n} continues from the seal before it`);
    return { ...expect, index: index + 1n };
  }
  try {
    const b64 = h['prev-checkpoint'];
    const note = Buffer.from(b64, 'base64');
    if (note.toString('base64') !== b64) throw new Fail('prev-checkpoint is not canonical base64');
    const cp = parseNote(note, 'fastmcp-audit-checkpoint', true);
    checkSignature(keys, cp, `the checkpoint segment ${index + 1n} continues from`);
    const c = cp.fields;
    if ((expect.chain !== null && c.chain !== expect.chain) || c.segment !== index || c.sequence - c['segment-records'] !== expect.firstSequence) throw new Fail('prev-checkpoint does not fit after the previous segment');
    errors.push(`${label}: tampered: segment ${index} was set aside (${h.tampering}); segment ${index + 1n} continues from its signed checkpoint at sequence ${c.sequence}`);
    return { chain: c.chain, index: index + 1n, firstSequence: c.sequence, prevSeal: sha256(note), prevHead: c.head };
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    errors.push(`${label}: tampered: segment ${index + 1n}: ${e.message}`);
    return null;
  }
}

function verifyFolder(keys, folder) {
  const errors = [], warnings = [];
  const chains = discover(folder);
  if (chains.length === 0) errors.push('no chain found');
  for (const c of chains) verifyChain(keys, c, errors, warnings);
  return { folder, valid: errors.length === 0, errors, warnings };
}

function main(argv) {
  const keyPaths = [], folders = []; let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') json = true;
    else if (argv[i] === '--key') keyPaths.push(argv[++i]);
    else folders.push(argv[i]);
  }
  if (keyPaths.length === 0 || folders.length === 0 || keyPaths.includes(undefined)) { process.stderr.write('usage: verify.mjs [--json] --key PUB.pem|FOLDER... LOG_FOLDER...\n'); return 2; }
  const keys = loadKeys(keyPaths);
  const results = folders.map((f) => verifyFolder(keys, f));
  if (json) process.stdout.write(JSON.stringify(results) + '\n');
  else for (const r of results) {
    process.stdout.write(`${r.valid ? 'VALID' : 'INVALID'} ${r.folder}\n`);
    for (const e of r.errors) process.stdout.write(`  error: ${e}\n`);
    for (const w of r.warnings) process.stdout.write(`  warning: ${w}\n`);
  }
  return results.every((r) => r.valid) ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));

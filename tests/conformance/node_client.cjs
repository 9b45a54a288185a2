// A worker slot written from proto/election/v1/election.proto and docs/vote_layout.md alone:
// Node.js, @grpc/grpc-js + @grpc/proto-loader loading the .proto at run time, no project code.
//
//   MASTER=127.0.0.1:50051 SLOT=4 JOIN_SECRET=... PROTO=.../election.proto node node_client.cjs
//
// Joins, then every round: SubmitVote (a valid vote; the zero encoding cycles through NONE,
// MASK, canonical INDICES and a non-canonical INDICES vote with many zeros), GetUpdate (the
// packed update is decoded and checked against the layout), GetSnapshot (the manifest layout
// is checked and sha256 of the param tensors must equal the update's digest: resync). After
// its last vote it waits for GetStatus.finished, checks the final snapshot's digest against
// GetStatus and the last update, and prints one JSON line. Every failure exits 1.
"use strict";
const crypto = require("node:crypto");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const MASTER = process.env.MASTER;
const SLOT = Number(process.env.SLOT);
const JOIN_SECRET = process.env.JOIN_SECRET || "";
const MAX_MESSAGE = 8 * 1024 * 1024; // the proto's stated gRPC message limit
const CHUNK = 4 * 1024 * 1024; // data per message
const RPC_DEADLINE_MS = 120000;
const MAX_POLLS = 4; // GetUpdate long polls per round before giving up

const pkg = protoLoader.loadSync(process.env.PROTO, {
  keepCase: true, longs: Number, enums: String, defaults: true,
});
const v1 = grpc.loadPackageDefinition(pkg).election.v1;
const client = new v1.Election(MASTER, grpc.credentials.createInsecure(), {
  "grpc.max_receive_message_length": MAX_MESSAGE,
  "grpc.max_send_message_length": MAX_MESSAGE,
});

function fail(message) {
  process.stderr.write(`node-client: ${message}\n`);
  process.exit(1);
}
function check(ok, message) { if (!ok) fail(message); }
const deadline = () => new Date(Date.now() + RPC_DEADLINE_MS);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function unary(method, request) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: deadline() }, (err, reply) => (err ? reject(err) : resolve(reply)));
  });
}

function serverStream(method, request) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const call = client[method](request, { deadline: deadline() });
    call.on("data", (c) => chunks.push(c));
    call.on("error", reject);
    call.on("end", () => resolve(chunks));
  });
}

// A long poll that reaches its deadline is asked again, as a worker does (--poll-timeout):
// on a loaded machine a round may wait longer than one deadline for slow workers to start.
async function longPoll(request) {
  for (let poll = 1; ; poll++) {
    try { return await serverStream("GetUpdate", request); } catch (err) {
      if (err.code !== grpc.status.DEADLINE_EXCEEDED || poll >= MAX_POLLS) throw err;
    }
  }
}

function reassemble(chunks) {
  check(chunks.length > 0 && chunks[0].header, "a stream must start with a header");
  chunks.slice(1).forEach((c) => check(!c.header, "only the first chunk carries a header"));
  return { header: chunks[0].header, data: Buffer.concat(chunks.map((c) => c.data)) };
}

// --- packed ternary votes (docs/vote_layout.md) -----------------------------------------
function rng(seed) { // xorshift32, deterministic per round
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x / 4294967296; };
}

function packVote(values, kind) {
  const d = values.length;
  const nb = Math.ceil(d / 8);
  const sign = Buffer.alloc(nb);
  const zeros = [];
  values.forEach((v, k) => {
    if (v < 0) sign[k >> 3] |= 1 << (k & 7);
    if (v === 0) zeros.push(k);
  });
  let zeroData = Buffer.alloc(0);
  if (kind === "ZERO_MASK") {
    zeroData = Buffer.alloc(nb);
    zeros.forEach((k) => { zeroData[k >> 3] |= 1 << (k & 7); });
  } else if (kind === "ZERO_INDICES") {
    zeroData = Buffer.alloc(4 * zeros.length);
    zeros.forEach((k, i) => zeroData.writeUInt32LE(k, 4 * i));
  } else {
    check(zeros.length === 0, "ZERO_NONE needs a vote without zeros");
  }
  return { sign, zeroData };
}

const KINDS = [ // [zero kind, fraction of zeros]
  ["ZERO_NONE", 0],
  ["ZERO_MASK", 0.3], // canonical: 4 * zeros >= ceil(d/8)
  ["ZERO_INDICES", 0.005], // canonical: 4 * zeros < ceil(d/8) when d is large enough
  ["ZERO_INDICES", 0.3], // non-canonical: more bytes than a mask, still valid
];

function makeVote(d, round) {
  const [kind, zeroFraction] = KINDS[round % KINDS.length];
  const next = rng(0x9e3779b9 ^ (round * 2654435761));
  const values = Array.from({ length: d }, () => (next() < 0.5 ? -1 : 1));
  if (zeroFraction > 0) {
    values[0] = 0; // at least one zero
    for (let k = 1; k < d; k++) if (next() < zeroFraction) values[k] = 0;
  }
  return { kind, ...packVote(values, kind), zeros: values.filter((v) => v === 0).length };
}

function submitVote(cred, round, d) {
  const vote = makeVote(d, round);
  const data = Buffer.concat([vote.sign, vote.zeroData]);
  const header = {
    run_id: cred.run_id, round, slot: cred.slot, token: cred.token,
    payload: {
      encoding: "PACKED_TERNARY", length: d, zero_kind: vote.kind,
      sign_nbytes: vote.sign.length, zero_nbytes: vote.zeroData.length, total_nbytes: data.length,
    },
  };
  return new Promise((resolve, reject) => {
    const call = client.SubmitVote({ deadline: deadline() }, (err, ack) => (err ? reject(err) : resolve({ ack, vote, nbytes: data.length })));
    for (let off = 0, first = true; first || off < data.length; off += CHUNK, first = false) {
      const part = data.subarray(off, off + CHUNK);
      call.write(first ? { header, data: part } : { data: part });
    }
    call.end();
  });
}

function decodeUpdate(update, d) { // the master's packed update: validate the layout, count values
  const p = update.header.payload;
  check(p.encoding === "PACKED_TERNARY" && Number(p.length) === d, "update is a packed vector of d");
  const nb = Math.ceil(d / 8);
  check(Number(p.sign_nbytes) === nb && update.data.length === Number(p.total_nbytes), "update sizes");
  const sign = update.data.subarray(0, nb);
  const zeroData = update.data.subarray(nb);
  const zero = new Uint8Array(d);
  if (p.zero_kind === "ZERO_MASK") {
    check(zeroData.length === nb, "mask size");
    for (let k = 0; k < d; k++) zero[k] = (zeroData[k >> 3] >> (k & 7)) & 1;
  } else if (p.zero_kind === "ZERO_INDICES") {
    check(zeroData.length % 4 === 0, "indices size");
    let last = -1;
    for (let i = 0; i < zeroData.length; i += 4) {
      const k = zeroData.readUInt32LE(i);
      check(k > last && k < d, "indices strictly increasing and < d");
      zero[k] = 1; last = k;
    }
  } else {
    check(zeroData.length === 0, "ZERO_NONE has no zero data");
  }
  const counts = { plus: 0, minus: 0, zero: 0 };
  for (let k = 0; k < d; k++) {
    const negative = (sign[k >> 3] >> (k & 7)) & 1;
    if (zero[k]) { check(!negative, "a zero coordinate has sign bit 0"); counts.zero++; }
    else if (negative) counts.minus++; else counts.plus++;
  }
  if (d % 8) check((sign[nb - 1] >> (d % 8)) === 0, "sign padding bits are 0");
  return counts;
}

async function snapshot(cred, d) { // resync: manifest layout + digest of the param tensors
  const snap = reassemble(await serverStream("GetSnapshot", { run_id: cred.run_id, slot: cred.slot, token: cred.token }));
  const h = snap.header;
  check(snap.data.length === Number(h.total_nbytes), "snapshot size");
  let offset = 0, paramBytes = 0, paramValues = 0, seenOther = false;
  const names = [];
  for (const t of h.tensors) {
    check(t.dtype === "DTYPE_FLOAT32_LE", `dtype of ${t.name}`);
    check(Number(t.offset) === offset, `tensor ${t.name} at ${t.offset}, expected ${offset}`);
    const values = t.shape.reduce((a, b) => a * Number(b), 1);
    check(Number(t.nbytes) === 4 * values, `size of ${t.name}`);
    if (t.name.startsWith("param/")) {
      check(!seenOther, "param tensors come first");
      paramBytes += Number(t.nbytes); paramValues += values;
    } else {
      seenOther = true;
    }
    names.push(t.name);
    offset += Number(t.nbytes);
  }
  check(offset === snap.data.length, "tensors cover the data exactly");
  check(paramValues === d, `param tensors hold d = ${d} values`);
  const params = snap.data.subarray(0, paramBytes);
  const digest = crypto.createHash("sha256").update(params).digest("hex");
  check(digest === h.digest, `sha256 of the param tensors ${digest} != snapshot digest ${h.digest}`);
  for (let i = 0; i < paramBytes; i += 4) check(Number.isFinite(params.readFloatLE(i)), "finite params");
  return { round: Number(h.round), digest, names };
}

async function expectCode(promise, code, reason) {
  try { await promise; } catch (err) {
    check(err.code === grpc.status[code], `expected ${code}, got ${err.code}: ${err.details}`);
    check(!reason || err.details.startsWith(`${reason}: `), `expected reason ${reason}: ${err.details}`);
    return;
  }
  fail(`expected ${code}, the call succeeded`);
}

async function main() {
  let status;
  for (let i = 0; ; i++) {
    try { status = await unary("GetStatus", {}); break; } catch (err) {
      if (i > 600) fail(`master unreachable: ${err.details}`);
      await sleep(100);
    }
  }
  await expectCode(unary("Join", { slot: SLOT, worker_name: "node", join_secret: "wrong-secret-0000" }), "UNAUTHENTICATED", "unauthenticated");
  const join = await unary("Join", { slot: SLOT, worker_name: "node-conformance", join_secret: JOIN_SECRET });
  const cred = { run_id: join.run_id, slot: join.slot, token: join.token };
  const d = Number(join.dim), total = Number(join.total_rounds);
  check(/^[0-9a-f]{64}$/.test(cred.token), "the token is 64 lowercase hex digits");
  check(join.partitions.every((p) => p >= 0 && p < status.n_slots), "partitions are indices in [0, n)");
  await expectCode(serverStream("GetUpdate", { run_id: cred.run_id, round: total + 5, slot: SLOT, token: "tökén" }), "UNAUTHENTICATED", "unauthenticated");
  const result = { slot: cred.slot, d, total, kinds: {}, non_canonical: 0, snapshots_verified: 0, update_counts: [], partitions: join.partitions };
  let round = Number(join.round);
  if (round > 0) round = (await snapshot(cred, d)).round;
  while (round < total) {
    let sent;
    for (;;) {
      try { sent = await submitVote(cred, round, d); break; } catch (err) {
        if (err.details && err.details.startsWith("future_round")) { await sleep(50); continue; }
        if (err.details && err.details.startsWith("stale_round")) { sent = null; break; }
        fail(`SubmitVote(${round}): ${err.code} ${err.details}`);
      }
    }
    if (sent) {
      const k = sent.vote.kind;
      result.kinds[k] = (result.kinds[k] || 0) + 1;
      if (k === "ZERO_INDICES" && sent.nbytes > 2 * Math.ceil(d / 8)) result.non_canonical++;
      check(Number(sent.ack.round) === round, "ack names the round");
    }
    if (round === total - 1) break;
    const update = reassemble(await longPoll({ run_id: cred.run_id, round, slot: cred.slot, token: cred.token }));
    result.update_counts.push(decodeUpdate(update, d));
    const snap = await snapshot(cred, d);
    if (snap.round === round + 1) check(snap.digest === update.header.digest, `digest after round ${round}`);
    result.snapshots_verified++;
    round = snap.round; // resync: continue where the master's state is
  }
  for (;;) { // the last round: the final state first, then the update (the master may then stop)
    status = await unary("GetStatus", {});
    if (status.finished) break;
    await sleep(50);
  }
  const final = await snapshot(cred, d);
  check(final.digest === status.digest && final.round === total, "final snapshot = GetStatus digest");
  const last = reassemble(await longPoll({ run_id: cred.run_id, round: total - 1, slot: cred.slot, token: cred.token }));
  check(last.header.digest === final.digest, "the last update's digest is the final model's");
  result.update_counts.push(decodeUpdate(last, d));
  result.final_digest = final.digest;
  result.tensors = final.names;
  process.stdout.write(JSON.stringify(result) + "\n");
  client.close();
}

main().catch((err) => fail(err.stack || String(err)));

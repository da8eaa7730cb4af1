import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { deserialize, serialize } from "node:v8";
import { crc32 } from "node:zlib";
import {
  type EngineLimits,
  restoreState,
  type Simulation,
  type SnapshotGraph,
  type SnapshotNode,
} from "../engine/index.js";

// A simulation's state on disk (issue "Durable and bounded" §1): the graph of src/engine/snapshot.ts
// with its ArrayBuffers (the slab arrays, the cgroup rows — nearly all the bytes) written as they
// are, so that writing and reading cost about what copying the bytes costs.
//
// Layout, little-endian:
//   "MCGSTATE" | u32 format 1 | u32 header length H | header (v8.serialize of the graph, each
//   ArrayBuffer replaced by its byte length) | padding to 8 | each ArrayBuffer's bytes, padded to 8 |
//   u32 CRC-32 of everything before it
// A file whose magic, lengths or CRC do not check out is an error naming the file and the offset.

const MAGIC = Buffer.from("MCGSTATE");
const FORMAT = 1;

type Stored = Omit<SnapshotGraph, "nodes"> & { nodes: (SnapshotNode | { k: "b"; bytes: number })[] };

function pad8(n: number): number {
  return (8 - (n % 8)) % 8;
}

/** Writes `graph` to `file` (via a temporary file, fdatasync, rename); returns the file's CRC-32 and size. */
export function writeStateFile(file: string, graph: SnapshotGraph): { crc: number; bytes: number } {
  const buffers: ArrayBuffer[] = [];
  const nodes = graph.nodes.map((n) => {
    if (n.k !== "b") return n;
    buffers.push(n.a);
    return { k: "b" as const, bytes: n.a.byteLength };
  });
  const header = serialize({ ...graph, nodes } satisfies Stored);
  const head = Buffer.alloc(16);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(FORMAT, 8);
  head.writeUInt32LE(header.length, 12);
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w");
  let crc = 0;
  let bytes = 0;
  const zero = Buffer.alloc(8);
  const put = (b: Uint8Array) => {
    // node's zlib.crc32 returns 0 for a view of an empty ArrayBuffer, whatever the running value
    // (Node 20.20): the files written before this skip covered only the bytes after the last
    // empty buffer (legacyCrc below reads them)
    if (b.length === 0) return;
    let off = 0;
    while (off < b.length) off += writeSync(fd, b, off, b.length - off);
    crc = crc32(b, crc);
    bytes += b.length;
  };
  try {
    put(head);
    put(header);
    put(zero.subarray(0, pad8(16 + header.length)));
    for (const ab of buffers) {
      const view = new Uint8Array(ab);
      put(view);
      put(zero.subarray(0, pad8(view.length)));
    }
    const tail = Buffer.alloc(4);
    tail.writeUInt32LE(crc >>> 0, 0);
    let off = 0;
    while (off < 4) off += writeSync(fd, tail, off, 4 - off);
    bytes += 4;
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  return { crc: crc >>> 0, bytes };
}

/** Writes the bytes of a state file as they are (an imported base), the way writeStateFile writes. */
export function writeStateBytes(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, "w");
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Reads a state file written by writeStateFile, checking its magic, lengths and CRC-32. */
export function readStateFile(file: string): { graph: SnapshotGraph; crc: number } {
  return parseState(readFileSync(file), file);
}

/**
 * Parses the bytes of a state file (read from disk, or the base of an export of version 2),
 * checking its magic, lengths and CRC-32; an error names `label` and the byte.
 */
export function parseState(bytes: Uint8Array, label: string): { graph: SnapshotGraph; crc: number } {
  const size = bytes.length;
  if (size < 20) throw new Error(`${label}: truncated at byte ${size} (a state file has at least 20 bytes)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, size);
  let pos = 0;
  const take = (n: number, what: string): Buffer => {
    if (pos + n > size - 4)
      throw new Error(`${label}: truncated at byte ${pos} (reading ${what}, ${n} bytes)`);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const head = take(16, "the header");
  if (!head.subarray(0, 8).equals(MAGIC)) throw new Error(`${label}: not a memcg-sim state file (byte 0)`);
  const format = head.readUInt32LE(8);
  if (format !== FORMAT)
    throw new Error(`${label}: state file format ${format}, this server reads ${FORMAT} (byte 8)`);
  const hlen = head.readUInt32LE(12);
  const headerBytes = take(hlen, "the header");
  take(pad8(16 + hlen), "padding");
  // the CRC first: a damaged header must be reported as damage, not as whatever deserialize makes of it
  const want = checkCrc(buf, label, hlen);
  let stored: Stored;
  try {
    stored = deserialize(headerBytes) as Stored;
  } catch (err) {
    throw new Error(`${label}: the header cannot be read (byte 16): ${(err as Error).message}`);
  }
  if (!Array.isArray(stored?.nodes)) throw new Error(`${label}: the header holds no object graph (byte 16)`);
  const nodes: SnapshotNode[] = stored.nodes.map((n, i) => {
    if (n.k !== "b" || !("bytes" in n)) return n as SnapshotNode;
    const b = take(n.bytes, `buffer of node ${i}`);
    // its own ArrayBuffer: the typed arrays restored over it must not alias the file's bytes
    const ab = new ArrayBuffer(n.bytes);
    new Uint8Array(ab).set(b);
    take(pad8(n.bytes), "padding");
    return { k: "b", a: ab };
  });
  if (pos !== size - 4) throw new Error(`${label}: ${size - 4 - pos} unexpected bytes at byte ${pos}`);
  return { graph: { ...stored, nodes }, crc: want };
}

/** Checks the magic and CRC-32 of a state file's bytes without decoding its buffers (export sends them as they are); returns the CRC. */
export function checkStateBytes(bytes: Uint8Array, label: string): number {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (buf.length < 20 || !buf.subarray(0, 8).equals(MAGIC))
    throw new Error(`${label}: not a memcg-sim state file (byte 0)`);
  return checkCrc(buf, label, buf.readUInt32LE(12));
}

/** The recorded CRC-32 of a state file when it matches its bytes (or, for a file of the older writer, legacyCrc); else an error naming the byte. */
function checkCrc(buf: Buffer, label: string, hlen: number): number {
  const size = buf.length;
  const crc = crc32(buf.subarray(0, size - 4)) >>> 0;
  const want = buf.readUInt32LE(size - 4);
  if (want === crc || want === legacyCrc(buf, hlen)) return want;
  throw new Error(
    `${label}: CRC-32 ${crc.toString(16)} of bytes 0..${size - 4} does not match the recorded ${want.toString(16)} (byte ${size - 4})`,
  );
}

/**
 * What the writer before the empty-buffer skip recorded: zlib.crc32 restarted at 0 at each empty
 * ArrayBuffer, so its CRC covers the bytes from the last empty buffer's place to the end (null:
 * the file has none, or its header cannot be read, so only the plain CRC counts).
 */
function legacyCrc(buf: Buffer, hlen: number): number | null {
  if (16 + hlen > buf.length - 4) return null;
  let stored: Stored;
  try {
    stored = deserialize(buf.subarray(16, 16 + hlen)) as Stored;
  } catch {
    return null;
  }
  if (!Array.isArray(stored?.nodes)) return null;
  let pos = 16 + hlen + pad8(16 + hlen);
  let last = -1;
  for (const n of stored.nodes) {
    if (n.k !== "b" || !("bytes" in n) || typeof n.bytes !== "number") continue;
    if (n.bytes === 0) last = pos;
    pos += n.bytes + pad8(n.bytes);
  }
  if (last < 0 || last > buf.length - 4) return null;
  return crc32(buf.subarray(last, buf.length - 4)) >>> 0;
}

/**
 * restoreState under `limits`, the limits of this server now. The graph holds the limits of the
 * server that captured it as data (restoreState puts them back with the rest of the simulation),
 * so without this a restart with a lower --max-live-objects, or an import into a server with
 * smaller limits, would keep the old ones for that instance. The engine reads `sim.limits` at
 * each check, so replacing the object is enough.
 */
export function restoreUnder(graph: SnapshotGraph, limits: EngineLimits): Simulation {
  const sim = restoreState(graph, limits);
  (sim as { limits: EngineLimits }).limits = limits;
  return sim;
}

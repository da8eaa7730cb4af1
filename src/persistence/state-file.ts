import { closeSync, fdatasyncSync, fstatSync, openSync, readSync, renameSync, writeSync } from "node:fs";
import { deserialize, serialize } from "node:v8";
import { crc32 } from "node:zlib";
import type { SnapshotGraph, SnapshotNode } from "../engine/index.js";

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

/** Reads a state file written by writeStateFile, checking its magic, lengths and CRC-32. */
export function readStateFile(file: string): { graph: SnapshotGraph; crc: number } {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    let pos = 0;
    let crc = 0;
    const read = (n: number, what: string): Buffer => {
      if (pos + n > size - 4)
        throw new Error(`${file}: truncated at byte ${pos} (reading ${what}, ${n} bytes)`);
      const b = Buffer.allocUnsafe(n);
      let off = 0;
      while (off < n) {
        const got = readSync(fd, b, off, n - off, pos + off);
        if (got === 0) throw new Error(`${file}: truncated at byte ${pos + off}`);
        off += got;
      }
      pos += n;
      crc = crc32(b, crc);
      return b;
    };
    const readInto = (ab: ArrayBuffer, what: string) => {
      const n = ab.byteLength;
      if (pos + n > size - 4)
        throw new Error(`${file}: truncated at byte ${pos} (reading ${what}, ${n} bytes)`);
      const b = new Uint8Array(ab);
      let off = 0;
      while (off < n) off += readSync(fd, b, off, n - off, pos + off);
      pos += n;
      crc = crc32(b, crc);
    };
    const head = read(16, "the header");
    if (!head.subarray(0, 8).equals(MAGIC)) throw new Error(`${file}: not a memcg-sim state file (byte 0)`);
    const format = head.readUInt32LE(8);
    if (format !== FORMAT)
      throw new Error(`${file}: state file format ${format}, this server reads ${FORMAT} (byte 8)`);
    const hlen = head.readUInt32LE(12);
    const stored = deserialize(read(hlen, "the header")) as Stored;
    read(pad8(16 + hlen), "padding");
    const nodes: SnapshotNode[] = stored.nodes.map((n, i) => {
      if (n.k !== "b" || !("bytes" in n)) return n as SnapshotNode;
      const ab = new ArrayBuffer(n.bytes);
      readInto(ab, `buffer of node ${i}`);
      read(pad8(n.bytes), "padding");
      return { k: "b", a: ab };
    });
    if (pos !== size - 4) throw new Error(`${file}: ${size - 4 - pos} unexpected bytes at byte ${pos}`);
    const tail = Buffer.alloc(4);
    readSync(fd, tail, 0, 4, pos);
    const want = tail.readUInt32LE(0);
    if (want !== crc >>> 0)
      throw new Error(
        `${file}: CRC-32 ${(crc >>> 0).toString(16)} of bytes 0..${pos} does not match the recorded ${want.toString(16)} (byte ${pos})`,
      );
    return { graph: { ...stored, nodes }, crc: want };
  } finally {
    closeSync(fd);
  }
}

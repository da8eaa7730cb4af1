import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";

/** A trace that cannot be read at all (as opposed to single unusable lines, which are counted). */
export class TraceInputError extends Error {
  constructor(
    readonly code:
      | "NOT_GZIP"
      | "TRUNCATED_GZIP"
      | "BAD_GZIP"
      | "EMPTY_TRACE"
      | "NO_USABLE_LINE"
      | "BAD_RECORDING",
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

/** Whether the trace is gzip: "auto" looks at the first two bytes (1f 8b). */
export type GzipMode = "auto" | "yes" | "no";

export interface ReadProgress {
  /** Bytes of the source consumed so far (compressed bytes for gzip). */
  bytesIn: number;
  lines: number;
}

/**
 * Called after each decoded chunk: a promise holds the reading (and, through backpressure, the
 * source) until it settles; undefined goes on at once.
 */
export type ChunkPause = () => Promise<void> | undefined;

/**
 * Streams the decoded bytes of a trace from `source` to `onChunk` (gzip detected and checked as
 * readTraceLines documents). `p.lines` must be kept current by the caller (for the error message).
 */
async function readTraceChunks(
  source: AsyncIterable<Buffer | string>,
  gzip: GzipMode,
  onChunk: (chunk: Buffer) => void,
  p: ReadProgress,
  chunkBytes: number,
  pause?: ChunkPause,
): Promise<void> {
  const iterator = source[Symbol.asyncIterator]();
  const firstRes = await iterator.next();
  if (firstRes.done) {
    if (gzip === "yes")
      throw new TraceInputError("NOT_GZIP", "the trace is empty, not gzip data (byte 0)", { offset: 0 });
    return;
  }
  const first = typeof firstRes.value === "string" ? Buffer.from(firstRes.value, "latin1") : firstRes.value;
  const isGzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  if (gzip === "yes" && !isGzip)
    throw new TraceInputError(
      "NOT_GZIP",
      `the trace is not gzip data: byte 0 is 0x${(first[0] ?? 0).toString(16).padStart(2, "0")}, gzip starts with 0x1f 0x8b`,
      { offset: 0 },
    );
  async function* rest(): AsyncGenerator<Buffer> {
    yield first;
    for (;;) {
      const r = await iterator.next();
      if (r.done) return;
      yield typeof r.value === "string" ? Buffer.from(r.value, "latin1") : r.value;
    }
  }
  if (gzip === "no" || !isGzip) {
    for await (const chunk of rest()) {
      p.bytesIn += chunk.length;
      onChunk(chunk);
      const w = pause?.();
      if (w !== undefined) await w;
    }
  } else {
    const counter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        p.bytesIn += chunk.length;
        cb(null, chunk);
      },
    });
    // readTraceLines: 64 KiB of text per chunk (decoding 256 KiB chunks to strings ran 2-5x slower
    // here, likely V8's large-object space above 128 KiB); readTraceBytes makes no string of a chunk
    const gunzip = createGunzip({ chunkSize: chunkBytes });
    // an error of the caller's onChunk (e.g. the replay's) is its own, not the pipeline's abort
    let own: { error: unknown } | null = null;
    try {
      await pipeline(rest(), counter, gunzip, async (decoded: AsyncIterable<Buffer>) => {
        for await (const chunk of decoded) {
          try {
            onChunk(chunk);
          } catch (e) {
            own = { error: e };
            throw e;
          }
          const w = pause?.();
          if (w !== undefined) await w;
        }
      });
    } catch (err) {
      if (own !== null) throw (own as { error: unknown }).error;
      const e = err as NodeJS.ErrnoException;
      if (e.code === "Z_BUF_ERROR")
        throw new TraceInputError(
          "TRUNCATED_GZIP",
          `truncated gzip: the input ends at byte ${p.bytesIn} inside a compressed member (${p.lines} complete lines read)`,
          { offset: p.bytesIn, lines: p.lines },
        );
      if (e.code === "Z_DATA_ERROR")
        throw new TraceInputError(
          "BAD_GZIP",
          `corrupt gzip data within the first ${p.bytesIn} bytes: ${e.message}`,
          {
            offset: p.bytesIn,
          },
        );
      throw err;
    }
  }
}

/**
 * Streams the lines of a trace from `source` (a file stream or an HTTP body) to `onLine`, with
 * 1-based line numbers; plain text or gzip (one or more members), decompressed as it arrives,
 * never holding more than a chunk: memory stays flat in the trace's length. `onLine` is
 * synchronous; the source is paused while it runs (backpressure). Errors: TraceInputError NOT_GZIP
 * (gzip asked for, magic absent), TRUNCATED_GZIP (the stream ends inside a member; the message
 * names the byte offset where the input ended), BAD_GZIP (corrupt data, with its offset).
 */
export async function readTraceLines(
  source: AsyncIterable<Buffer | string>,
  gzip: GzipMode,
  onLine: (line: string, lineNo: number) => void,
  progress?: ReadProgress,
): Promise<number> {
  const p: ReadProgress = progress ?? { bytesIn: 0, lines: 0 };
  let tail = "";
  let lineNo = 0;
  const emit = (text: string) => {
    let start = 0;
    let nl = text.indexOf("\n");
    if (nl < 0) {
      tail += text;
      return;
    }
    let first = tail + text.slice(0, nl);
    tail = "";
    for (;;) {
      const line = first.length > 0 && first.charCodeAt(first.length - 1) === 13 ? first.slice(0, -1) : first;
      lineNo++;
      onLine(line, lineNo);
      start = nl + 1;
      nl = text.indexOf("\n", start);
      if (nl < 0) break;
      first = text.slice(start, nl);
    }
    tail = text.slice(start);
    p.lines = lineNo;
  };

  await readTraceChunks(source, gzip, (chunk) => emit(chunk.toString("latin1")), p, 64 * 1024);
  if (tail.length > 0) {
    const line = tail.charCodeAt(tail.length - 1) === 13 ? tail.slice(0, -1) : tail;
    tail = "";
    lineNo++;
    onLine(line, lineNo);
  }
  p.lines = lineNo;
  return lineNo;
}

/**
 * readTraceLines without strings: each line is handed over as the bytes [start, end) of `buf`
 * (latin1, without its `\n` or a `\r` before it), valid only during the call. Same line numbers,
 * same errors, same memory bound; the decoded chunks are larger (256 KiB), making fewer calls
 * across the stream machinery. `pause` (optional) may hold the reading after a chunk.
 */
export async function readTraceBytes(
  source: AsyncIterable<Buffer | string>,
  gzip: GzipMode,
  onLine: (buf: Buffer, start: number, end: number, lineNo: number) => void,
  progress?: ReadProgress,
  pause?: ChunkPause,
): Promise<number> {
  const p: ReadProgress = progress ?? { bytesIn: 0, lines: 0 };
  let lineNo = 0;
  // the bytes of a line begun in an earlier chunk
  let carry: Buffer = Buffer.alloc(0);
  let carryLen = 0;
  const line = (buf: Buffer, start: number, end: number) => {
    const e = end > start && buf[end - 1] === 13 ? end - 1 : end;
    lineNo++;
    onLine(buf, start, e, lineNo);
  };
  const emit = (chunk: Buffer) => {
    const n = chunk.length;
    let start = 0;
    let nl = chunk.indexOf(10);
    if (nl < 0) nl = n;
    if (carryLen > 0) {
      // the first line of this chunk ends the carried one
      const joined = Buffer.allocUnsafe(carryLen + nl);
      carry.copy(joined, 0, 0, carryLen);
      chunk.copy(joined, carryLen, 0, nl);
      if (nl === n) {
        carry = joined;
        carryLen = joined.length;
        return;
      }
      carryLen = 0;
      line(joined, 0, joined.length);
      start = nl + 1;
    }
    for (;;) {
      const j = chunk.indexOf(10, start);
      if (j < 0) break;
      line(chunk, start, j);
      start = j + 1;
    }
    if (start < n) {
      // an unfinished line: keep a copy (the chunk's memory may be reused)
      if (carry.length < n - start) carry = Buffer.allocUnsafe(Math.max(n - start, 1024));
      chunk.copy(carry, 0, start, n);
      carryLen = n - start;
    }
    p.lines = lineNo;
  };
  await readTraceChunks(source, gzip, emit, p, 256 * 1024, pause);
  if (carryLen > 0) {
    line(carry, 0, carryLen);
    carryLen = 0;
  }
  p.lines = lineNo;
  return lineNo;
}

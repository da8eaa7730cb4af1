import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { type GzipMode, type ReadProgress, TraceInputError } from "./input.js";
import type { SkipReason, TraceEvent } from "./parse.js";

// Parsed trace lines as compact binary records, for a trace read and parsed on a thread of its
// own (parse-worker.ts) and applied on the main thread (run.ts). One record per line, in order:
// the whole TraceEvent the parser left after the line (its stale fields included, so the event
// decoded on the main thread is the parser's object field for field) and the line's skip reason.
// Numbers in a Float64Array (exact for every value the parser makes, NaN included), the 32-bit
// lower pointer word, flags and string references in an Int32Array. Strings: a reference ≥ 0 is
// an entry of the run's string table (new entries travel with the batch that first uses them; at
// most MAX_TABLE entries), < 0 an entry of the batch's own texts (-1 - index).

/** Float64 fields per record: ts, ptrHi, pid, cpu, bytesAlloc, order, childPid. */
export const F64_FIELDS = 7;
/** Int32 fields per record: type, skip reason (ref, -1 none), ptrLo, accounted, cache, gfp, ptr, pfn (refs). */
export const I32_FIELDS = 8;
/** Lines per batch. */
export const BATCH_LINES = 8192;
/** Batches the thread may have sent and not had back (memory bound: ~0.7 MiB each). */
export const MAX_IN_FLIGHT = 4;
/** Strings the run's table holds at most (cache names, gfp texts; others travel per batch). */
const MAX_TABLE = 4096;

/** A batch of records, from the thread to the main thread (its buffers transferred). */
export interface BatchMessage {
  kind: "batch";
  firstLine: number;
  count: number;
  f64: ArrayBuffer;
  i32: ArrayBuffer;
  /** New entries of the string table, in id order. */
  strings: string[];
  /** Strings of this batch only. */
  texts: string[];
  /** Source bytes consumed when the batch was sent. */
  bytesIn: number;
}
export interface EndMessage {
  kind: "end";
  total: number;
}
export interface ErrorMessage {
  kind: "error";
  error: { trace: boolean; code: string | undefined; message: string; details: Record<string, unknown> };
}
export type ThreadMessage = BatchMessage | EndMessage | ErrorMessage;

/** What the main thread sends: the trace to read, then each batch's buffers back for reuse. */
export interface StartRequest {
  kind: "start";
  path: string;
  gzip: GzipMode;
}
export interface AckRequest {
  kind: "ack";
  f64: ArrayBuffer;
  i32: ArrayBuffer;
}

/** Fills batches of records on the parsing thread. */
export class RecordEncoder {
  private f64 = new Float64Array(BATCH_LINES * F64_FIELDS);
  private i32 = new Int32Array(BATCH_LINES * I32_FIELDS);
  private n = 0;
  private firstLine = 1;
  private readonly table = new Map<string, number>([["", 0]]);
  private strings: string[] = [""];
  private texts: string[] = [];
  // the last string of each field and its reference (most lines repeat the previous line's);
  // null after a batch whose own text it was
  private lastCache: string | null = "";
  private lastCacheRef = 0;
  private lastGfp: string | null = "";
  private lastGfpRef = 0;
  private lastPtr: string | null = "";
  private lastPtrRef = 0;
  private lastPfn: string | null = "";
  private lastPfnRef = 0;

  constructor(
    private readonly send: (m: BatchMessage, transfer: ArrayBuffer[]) => void,
    private readonly take: () => { f64: ArrayBuffer; i32: ArrayBuffer } | undefined,
  ) {}

  private ref(s: string): number {
    const id = this.table.get(s);
    if (id !== undefined) return id;
    if (this.table.size < MAX_TABLE) {
      const nid = this.table.size;
      this.table.set(s, nid);
      this.strings.push(s);
      return nid;
    }
    this.texts.push(s);
    return -this.texts.length;
  }

  /** Records line `lineNo`: the event the parser left in `ev` and its skip reason (null: usable). */
  push(ev: TraceEvent, reason: SkipReason | null, lineNo: number, bytesIn: number): void {
    if (this.n === 0) this.firstLine = lineNo;
    const k = this.n++;
    const f = this.f64;
    const fo = k * F64_FIELDS;
    f[fo] = ev.ts;
    f[fo + 1] = ev.ptrHi;
    f[fo + 2] = ev.pid;
    f[fo + 3] = ev.cpu;
    f[fo + 4] = ev.bytesAlloc;
    f[fo + 5] = ev.order;
    f[fo + 6] = ev.childPid;
    const i = this.i32;
    const io = k * I32_FIELDS;
    i[io] = ev.type;
    i[io + 1] = reason === null ? -1 : this.ref(reason);
    i[io + 2] = ev.ptrLo;
    i[io + 3] = ev.accounted ? 1 : 0;
    if (ev.cache !== this.lastCache) {
      this.lastCache = ev.cache;
      this.lastCacheRef = this.ref(ev.cache);
    }
    i[io + 4] = this.lastCacheRef;
    if (ev.gfp !== this.lastGfp) {
      this.lastGfp = ev.gfp;
      this.lastGfpRef = this.ref(ev.gfp);
    }
    i[io + 5] = this.lastGfpRef;
    if (ev.ptr !== this.lastPtr) {
      this.lastPtr = ev.ptr;
      this.lastPtrRef = ev.ptr === "" ? 0 : this.text(ev.ptr);
    }
    i[io + 6] = this.lastPtrRef;
    if (ev.pfn !== this.lastPfn) {
      this.lastPfn = ev.pfn;
      this.lastPfnRef = ev.pfn === "" ? 0 : this.text(ev.pfn);
    }
    i[io + 7] = this.lastPfnRef;
    if (this.n === BATCH_LINES) this.flush(bytesIn);
  }

  /** A string of this batch only (pointer texts, pfns: many distinct values). */
  private text(s: string): number {
    this.texts.push(s);
    return -this.texts.length;
  }

  /** Sends the records so far (if any). */
  flush(bytesIn: number): void {
    if (this.n === 0) return;
    const m: BatchMessage = {
      kind: "batch",
      firstLine: this.firstLine,
      count: this.n,
      f64: this.f64.buffer as ArrayBuffer,
      i32: this.i32.buffer as ArrayBuffer,
      strings: this.strings,
      texts: this.texts,
      bytesIn,
    };
    this.send(m, [m.f64, m.i32]);
    const b = this.take();
    this.f64 = b === undefined ? new Float64Array(BATCH_LINES * F64_FIELDS) : new Float64Array(b.f64);
    this.i32 = b === undefined ? new Int32Array(BATCH_LINES * I32_FIELDS) : new Int32Array(b.i32);
    this.n = 0;
    this.strings = [];
    this.texts = [];
    // a text reference belongs to the batch just sent
    if (this.lastCacheRef < 0) this.lastCache = null;
    if (this.lastGfpRef < 0) this.lastGfp = null;
    if (this.lastPtrRef < 0) this.lastPtr = null;
    if (this.lastPfnRef < 0) this.lastPfn = null;
  }
}

/** The parsing thread's code from the sources (bundled once per process), or null where it cannot be. */
let bundled: string | null | undefined;

/**
 * The sources' parse-worker.ts and its imports as one CommonJS script: esbuild (tsx's own
 * compiler) bundles them in a few hundred ms, against ~0.5 s for tsx's loader inside a thread.
 */
function bundledThreadCode(here: string): string | null {
  if (bundled !== undefined) return bundled;
  try {
    const req = createRequire(here);
    const esbuild = req(req.resolve("esbuild")) as {
      buildSync(o: Record<string, unknown>): { outputFiles: { text: string }[] };
    };
    bundled = esbuild.buildSync({
      entryPoints: [fileURLToPath(new URL("./parse-worker.ts", here))],
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      write: false,
      logLevel: "silent",
    }).outputFiles[0].text;
  } catch {
    bundled = null;
  }
  return bundled;
}

/**
 * Starts a parsing thread: parse-worker.js next to this module in dist/; from the sources (under
 * tsx or vitest) the sources bundled by esbuild, else (no esbuild) tsx's loader registered in the
 * thread before it imports parse-worker.ts (Node 20 passes no module loader on to a worker
 * thread; as src/sweep/pool.ts).
 */
function startThread(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./parse-worker.js", here));
  const code = bundledThreadCode(here);
  // the parent's execArgv carries tsx's own flags, which fail inside a thread on Node 20
  if (code !== null) return new Worker(code, { eval: true, execArgv: [] });
  const api = pathToFileURL(
    createRequire(here)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const entry = new URL("./parse-worker.ts", here).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require("node:worker_threads").parentPort.postMessage({ kind: "error", error: { trace: false, code: undefined, message: String(e && e.stack || e), details: {} } }); });`;
  return new Worker(boot, { eval: true, execArgv: [] });
}

/**
 * readTraceBytes + ByteParser on a thread of their own: the file at `path` is read, gunzipped,
 * split and parsed there, and each line's event (decoded into one reused TraceEvent) and skip
 * reason handed to `onLine` here, in order, with the same line numbers and the same errors
 * (TraceInputError with the same code, message and details, after the lines before it). At most
 * MAX_IN_FLIGHT batches wait between the threads: memory stays flat in the trace's length.
 * Resolves with the number of lines.
 */
export function readTraceThreaded(
  path: string,
  gzip: GzipMode,
  ev: TraceEvent,
  onLine: (reason: SkipReason | null, lineNo: number) => void,
  progress: ReadProgress,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const thread = startThread();
    const table: string[] = [];
    let done = false;
    const finish = (err: Error | null, total = 0) => {
      if (done) return;
      done = true;
      void thread.terminate();
      if (err !== null) reject(err);
      else resolve(total);
    };
    thread.on("message", (m: ThreadMessage) => {
      if (done) return;
      if (m.kind === "batch") {
        try {
          for (let s = 0; s < m.strings.length; s++) table.push(m.strings[s]);
          applyBatch(m, table, ev, onLine, progress);
        } catch (e) {
          finish(e as Error);
          return;
        }
        const ack: AckRequest = { kind: "ack", f64: m.f64, i32: m.i32 };
        thread.postMessage(ack, [m.f64, m.i32]);
      } else if (m.kind === "end") {
        progress.lines = m.total;
        finish(null, m.total);
      } else {
        const e = m.error;
        if (e.trace) finish(new TraceInputError(e.code as TraceInputError["code"], e.message, e.details));
        else finish(Object.assign(new Error(e.message), e.code === undefined ? {} : { code: e.code }));
      }
    });
    thread.on("error", (e) => finish(e));
    thread.on("exit", (code) => {
      if (!done) finish(new Error(`the trace parsing thread exited (code ${code})`));
    });
    const start: StartRequest = { kind: "start", path, gzip };
    thread.postMessage(start);
  });
}

function applyBatch(
  m: BatchMessage,
  table: string[],
  ev: TraceEvent,
  onLine: (reason: SkipReason | null, lineNo: number) => void,
  progress: ReadProgress,
): void {
  const f = new Float64Array(m.f64);
  const i = new Int32Array(m.i32);
  const texts = m.texts;
  const str = (r: number) => (r >= 0 ? table[r] : texts[-1 - r]);
  progress.bytesIn = m.bytesIn;
  for (let k = 0; k < m.count; k++) {
    const io = k * I32_FIELDS;
    const lineNo = m.firstLine + k;
    const reason = i[io + 1];
    if (reason >= 0) {
      progress.lines = lineNo;
      onLine(table[reason] as SkipReason, lineNo);
      continue;
    }
    const fo = k * F64_FIELDS;
    ev.ts = f[fo];
    ev.ptrHi = f[fo + 1];
    ev.pid = f[fo + 2];
    ev.cpu = f[fo + 3];
    ev.bytesAlloc = f[fo + 4];
    ev.order = f[fo + 5];
    ev.childPid = f[fo + 6];
    ev.type = i[io];
    ev.ptrLo = i[io + 2];
    ev.accounted = i[io + 3] === 1;
    ev.cache = str(i[io + 4]);
    ev.gfp = str(i[io + 5]);
    ev.ptr = str(i[io + 6]);
    ev.pfn = str(i[io + 7]);
    progress.lines = lineNo;
    onLine(null, lineNo);
  }
}

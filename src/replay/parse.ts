/**
 * One line of a kernel trace: ftrace text as `trace_pipe`/`trace` print it, or `perf script`
 * output of the same tracepoints. Only the fields the replay needs are extracted, with indexOf
 * (no regular expression per line): the parser sits on the replay's hot path. A recording's replay
 * reads the bytes instead (ByteParser, same result): no string per line.
 *
 * ftrace:  `  python3-8567  [000] ..... 23035.650424: kmem_cache_alloc: call_site=… ptr=… name=dentry …`
 *          (optionally a TGID column `(  8567)` before the CPU)
 * perf:    `  python3  8567 [000] 23035.650424: kmem:kmem_cache_alloc: call_site=… ptr=0xffff… …`
 *          (the task as `comm pid` or `comm pid/tid`, no flags column, `system:event`)
 */

export const EV_CACHE_ALLOC = 1;
export const EV_KMALLOC = 2;
export const EV_CACHE_FREE = 3;
export const EV_KFREE = 4;
export const EV_PAGE_ALLOC = 5;
export const EV_PAGE_FREE = 6;
export const EV_FORK = 7;
export const EV_EXIT = 8;

const EVENTS: Record<string, number> = {
  kmem_cache_alloc: EV_CACHE_ALLOC,
  kmem_cache_alloc_node: EV_CACHE_ALLOC,
  kmalloc: EV_KMALLOC,
  kmalloc_node: EV_KMALLOC,
  kmem_cache_free: EV_CACHE_FREE,
  kfree: EV_KFREE,
  mm_page_alloc: EV_PAGE_ALLOC,
  mm_page_free: EV_PAGE_FREE,
  sched_process_fork: EV_FORK,
  sched_process_exit: EV_EXIT,
};

/** Why a line was not used (the report counts lines by reason). */
export type SkipReason =
  | "comment"
  | "blank"
  | "garbled"
  | "otherEvent"
  | "pidNotInMap"
  | "freeOfUnknownObject"
  | "freeOfNull"
  | "freeOfUnknownPage"
  | "unaccountedPage"
  | "afterKill"
  | "afterExit"
  | "allocFailed"
  | "badCache";

/** A parsed event; the parser fills one reused object. */
export interface TraceEvent {
  type: number;
  pid: number;
  cpu: number;
  /** Timestamp in seconds as printed. */
  ts: number;
  /**
   * The pointer as printed; "" when the byte parser kept it as a number only (ptrHi >= 0: read it
   * with ptrText). The replay matches frees by (ptrHi, ptrLo) for pointers of the usual shape and
   * by this text for any other.
   */
  ptr: string;
  /**
   * A pointer printed as 1–16 lowercase hex digits (optionally after `0x`): its upper 32 bits × 64
   * + 2 × the digit count + 1 for `0x` (one number per distinct text); -1 for any other text.
   */
  ptrHi: number;
  /** Its lower 32 bits as a signed 32-bit integer (with ptrHi >= 0). */
  ptrLo: number;
  /** kmem_cache_alloc/free: the cache (`name=`); empty when absent. */
  cache: string;
  bytesAlloc: number;
  accounted: boolean;
  gfp: string;
  /** mm_page_*: `pfn=` as printed; order. */
  pfn: string;
  order: number;
  /** sched_process_fork: child pid; sched_process_exit: the exiting pid. */
  childPid: number;
}

export function newEvent(): TraceEvent {
  return {
    type: 0,
    pid: 0,
    cpu: 0,
    ts: 0,
    ptr: "",
    ptrHi: -1,
    ptrLo: 0,
    cache: "",
    bytesAlloc: 0,
    accounted: false,
    gfp: "",
    pfn: "",
    order: 0,
    childPid: 0,
  };
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** The value of ` key=` after `from`, up to the next space; null when absent. */
export function fieldOf(line: string, key: string, from: number): string | null {
  const k = line.indexOf(key, from);
  if (k < 0) return null;
  const start = k + key.length;
  let end = line.indexOf(" ", start);
  if (end < 0) end = line.length;
  return line.slice(start, end);
}

function intOf(s: string | null): number {
  if (s === null || s.length === 0) return Number.NaN;
  for (let i = 0; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return Number.NaN;
  return Number(s);
}

/**
 * Parses `line` into `ev`. Returns null when the line is one of the events the replay uses, else
 * the reason it is not ("comment" for `#` header lines, "otherEvent" for another tracepoint,
 * "garbled" for anything that does not have the shape of a trace line).
 */
export function parseLine(line: string, ev: TraceEvent): SkipReason | null {
  // the CPU column `[NNN]` separates the task from the rest in both formats
  let i = 0;
  const n = line.length;
  while (i < n && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
  if (i === n) return "blank";
  if (line.charCodeAt(i) === 35 /* # */) return "comment";
  let lb = line.indexOf(" [", i);
  let rb = -1;
  while (lb >= 0) {
    rb = line.indexOf("]", lb + 2);
    if (rb > lb + 2 && rb - lb - 2 <= 4) {
      let ok = true;
      for (let k = lb + 2; k < rb; k++) if (!isDigit(line.charCodeAt(k))) ok = false;
      if (ok) break;
    }
    lb = line.indexOf(" [", lb + 2);
  }
  if (lb < 0) return "garbled";
  let cpu = 0;
  for (let k = lb + 2; k < rb; k++) cpu = cpu * 10 + (line.charCodeAt(k) - 48);
  ev.cpu = cpu;
  // task: trim, drop a TGID column "(  123)" or "(-------)"
  let te = lb;
  while (te > i && line.charCodeAt(te - 1) === 32) te--;
  if (te > i && line.charCodeAt(te - 1) === 41 /* ) */) {
    const open = line.lastIndexOf("(", te - 1);
    if (open < i) return "garbled";
    te = open;
    while (te > i && line.charCodeAt(te - 1) === 32) te--;
  }
  // trailing digits: the pid (ftrace comm-pid, perf comm pid or comm pid/tid)
  let d = te;
  while (d > i && isDigit(line.charCodeAt(d - 1))) d--;
  if (d === te || d === i) return "garbled";
  let pid = 0;
  for (let k = d; k < te; k++) pid = pid * 10 + (line.charCodeAt(k) - 48);
  const sep = line.charCodeAt(d - 1);
  if (sep === 47 /* / */) {
    // perf "pid/tid": the tid is the task that allocated (ftrace prints the tid too)
    let d2 = d - 1;
    while (d2 > i && isDigit(line.charCodeAt(d2 - 1))) d2--;
    if (d2 === d - 1 || d2 === i) return "garbled";
  } else if (sep !== 45 /* - */ && sep !== 32 && sep !== 9) return "garbled";
  if (!Number.isSafeInteger(pid) || pid < 0) return "garbled";
  ev.pid = pid;
  // after the CPU: ftrace flags (e.g. "....." or "d..1."), then the timestamp and ":"
  let p = rb + 1;
  while (p < n && line.charCodeAt(p) === 32) p++;
  let colon = line.indexOf(": ", p);
  if (colon < 0) return "garbled";
  let tsStart = p;
  const sp = line.indexOf(" ", p);
  if (sp >= 0 && sp < colon) {
    // a flags column before the timestamp
    tsStart = sp;
    while (tsStart < n && line.charCodeAt(tsStart) === 32) tsStart++;
  }
  // seconds.micros, parsed in place (no substring per line)
  let ip = 0;
  let k = tsStart;
  for (; k < colon && isDigit(line.charCodeAt(k)); k++) ip = ip * 10 + (line.charCodeAt(k) - 48);
  if (k === tsStart) return "garbled";
  let frac = 0;
  let scale = 1;
  if (k < colon && line.charCodeAt(k) === 46 /* . */) {
    for (k++; k < colon && isDigit(line.charCodeAt(k)); k++) {
      frac = frac * 10 + (line.charCodeAt(k) - 48);
      scale *= 10;
    }
  }
  if (k !== colon) return "garbled";
  ev.ts = ip + frac / scale;
  // the event name, "name:" (ftrace) or "system:name:" (perf); perf may print a period first
  p = colon + 2;
  while (p < n && line.charCodeAt(p) === 32) p++;
  // the common events first, without a substring: "name: " (ftrace) or "kmem:name: " (perf)
  const sys = line.startsWith("kmem:", p) ? 5 : line.startsWith("sched:", p) ? 6 : 0;
  for (let e = 0; e < HOT.length; e++) {
    const h = HOT[e];
    if (line.startsWith(h.text, p + sys)) {
      ev.type = h.type;
      return fields(line, h.type, p + sys + h.text.length - 1, ev);
    }
  }
  colon = line.indexOf(":", p);
  if (colon < 0) return "garbled";
  let name = line.slice(p, colon);
  if (isDigit(name.charCodeAt(0)) && name.indexOf(" ") > 0) name = name.slice(name.lastIndexOf(" ") + 1);
  if (line.charCodeAt(colon + 1) !== 32 && colon + 1 < n) {
    // "kmem:kmalloc:" — the system prefix
    const c2 = line.indexOf(":", colon + 1);
    if (c2 < 0) return "garbled";
    name = line.slice(colon + 1, c2);
    colon = c2;
  }
  const type = EVENTS[name];
  if (type === undefined) {
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (!(c === 95 || isDigit(c) || (c >= 97 && c <= 122) || (c >= 65 && c <= 90))) return "garbled";
    }
    return name.length === 0 ? "garbled" : "otherEvent";
  }
  ev.type = type;
  return fields(line, type, colon + 1, ev);
}

/** The hot events as they start after the timestamp (the name and its colon-space). */
const HOT = Object.entries(EVENTS).map(([name, type]) => ({ text: `${name}: `, type }));

/** The value of ` key=` after `from` as a non-negative integer, in place; NaN when absent or not digits. */
function intField(line: string, key: string, from: number): number {
  const k = line.indexOf(key, from);
  if (k < 0) return Number.NaN;
  let v = 0;
  let j = k + key.length;
  const start = j;
  for (; j < line.length; j++) {
    const c = line.charCodeAt(j);
    if (c === 32) break;
    if (!isDigit(c)) return Number.NaN;
    v = v * 10 + (c - 48);
  }
  return j === start ? Number.NaN : v;
}

/** The fields of event `type`, its text starting at `f` (at the colon after the event name). */
function fields(line: string, type: number, f: number, ev: TraceEvent): SkipReason | null {
  switch (type) {
    case EV_CACHE_ALLOC:
    case EV_KMALLOC: {
      const ptr = fieldOf(line, " ptr=", f);
      const ba = intField(line, " bytes_alloc=", f);
      if (ptr === null || ptr.length === 0 || !(ba > 0)) return "garbled";
      setPtr(ev, ptr);
      ev.bytesAlloc = ba;
      ev.cache = type === EV_CACHE_ALLOC ? (fieldOf(line, " name=", f) ?? "") : "";
      if (type === EV_CACHE_ALLOC && ev.cache.length === 0) return "garbled";
      ev.gfp = fieldOf(line, " gfp_flags=", f) ?? "";
      const acc = line.indexOf(" accounted=", f);
      // kernels before 6.0 print no `accounted=`: the flag in gfp_flags is all there is
      ev.accounted = acc < 0 ? ev.gfp.includes("ACCOUNT") : line.startsWith("true", acc + 11);
      return null;
    }
    case EV_CACHE_FREE:
    case EV_KFREE: {
      const ptr = fieldOf(line, " ptr=", f);
      if (ptr === null || ptr.length === 0) return "garbled";
      setPtr(ev, ptr);
      ev.cache = type === EV_CACHE_FREE ? (fieldOf(line, " name=", f) ?? "") : "";
      return null;
    }
    case EV_PAGE_ALLOC:
    case EV_PAGE_FREE: {
      const pfn = fieldOf(line, " pfn=", f);
      const order = intOf(fieldOf(line, " order=", f));
      if (pfn === null || pfn.length === 0 || !(order >= 0 && order <= 10)) return "garbled";
      ev.pfn = pfn;
      ev.order = order;
      ev.gfp = type === EV_PAGE_ALLOC ? (fieldOf(line, " gfp_flags=", f) ?? "") : "";
      return null;
    }
    case EV_FORK: {
      const parent = intOf(fieldOf(line, " pid=", f));
      const child = intOf(fieldOf(line, " child_pid=", f));
      if (!(parent > 0) || !(child > 0)) return "garbled";
      ev.pid = parent;
      ev.childPid = child;
      return null;
    }
    default: {
      // sched_process_exit: comm=… pid=… prio=…
      const pidF = intOf(fieldOf(line, " pid=", f));
      if (!(pidF > 0)) return "garbled";
      ev.childPid = pidF;
      return null;
    }
  }
}

/** `/proc/slabinfo` name of the kmalloc cache serving `bytesAlloc` (6.x: kmalloc-cg-* when accounted). */
export function kmallocCacheName(bytesAlloc: number, accounted: boolean): string {
  const label = bytesAlloc >= 1024 && bytesAlloc % 1024 === 0 ? `${bytesAlloc / 1024}k` : String(bytesAlloc);
  return `kmalloc-${accounted ? "cg-" : ""}${label}`;
}

/** Above this a kmalloc goes to the page allocator (`KMALLOC_MAX_CACHE_SIZE`, 2 pages with SLUB). */
export const KMALLOC_MAX_CACHE_SIZE = 8192;

/** The page order of a large kmalloc of `bytesAlloc` (`get_order`). */
export function orderOf(bytesAlloc: number): number {
  let order = 0;
  while (4096 * 2 ** order < bytesAlloc) order++;
  return order;
}

/** The value of a lowercase hex digit, -1 for any other character. */
function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Sets ev.ptrHi/ptrLo from the pointer text in bytes [s, e) of `b`: 1–16 lowercase hex digits,
 * optionally after `0x`. Returns false (ptrHi -1) for any other text. Distinct texts give distinct
 * (ptrHi, ptrLo): the digit count and the prefix are part of it.
 */
function ptrKey(b: Uint8Array, s: number, e: number, ev: TraceEvent): boolean {
  let px = 0;
  if (e - s >= 2 && b[s] === 48 && b[s + 1] === 120 /* x */) {
    px = 1;
    s += 2;
  }
  const nd = e - s;
  if (nd < 1 || nd > 16) {
    ev.ptrHi = -1;
    return false;
  }
  let hi = 0;
  let lo = 0;
  const split = e - 8;
  for (let i = s; i < e; i++) {
    const v = hexVal(b[i]);
    if (v < 0) {
      ev.ptrHi = -1;
      return false;
    }
    if (i < split) hi = hi * 16 + v;
    else lo = lo * 16 + v;
  }
  ev.ptrHi = hi * 64 + nd * 2 + px;
  ev.ptrLo = lo | 0;
  return true;
}

/** Sets ev.ptr and, for a pointer of the usual shape, its numeric key (as ptrKey). */
function setPtr(ev: TraceEvent, ptr: string): void {
  ev.ptr = ptr;
  // as ptrKey, on the text
  let s = 0;
  let px = 0;
  if (ptr.length >= 2 && ptr.charCodeAt(0) === 48 && ptr.charCodeAt(1) === 120) {
    px = 1;
    s = 2;
  }
  const nd = ptr.length - s;
  if (nd < 1 || nd > 16) {
    ev.ptrHi = -1;
    return;
  }
  let hi = 0;
  let lo = 0;
  const split = ptr.length - 8;
  for (let i = s; i < ptr.length; i++) {
    const v = hexVal(ptr.charCodeAt(i));
    if (v < 0) {
      ev.ptrHi = -1;
      return;
    }
    if (i < split) hi = hi * 16 + v;
    else lo = lo * 16 + v;
  }
  ev.ptrHi = hi * 64 + nd * 2 + px;
  ev.ptrLo = lo | 0;
}

/** The pointer of `ev` as printed (rebuilt from ptrHi/ptrLo where the byte parser kept no text). */
export function ptrText(ev: TraceEvent): string {
  if (ev.ptr !== "" || ev.ptrHi < 0) return ev.ptr;
  const hk = ev.ptrHi;
  const px = hk % 2;
  const nd = Math.floor(hk / 2) % 32;
  const hi = Math.floor(hk / 64);
  const lo = (ev.ptrLo >>> 0).toString(16).padStart(8, "0");
  const digits = nd <= 8 ? lo.slice(8 - nd) : hi.toString(16).padStart(nd - 8, "0") + lo;
  return (px === 1 ? "0x" : "") + digits;
}

/** Whether the pointer of `ev` is NULL (`%p` of NULL: all zeros, with or without 0x). */
export function ptrIsNull(ev: TraceEvent): boolean {
  if (ev.ptrHi >= 0) return ev.ptrHi < 64 && ev.ptrLo === 0;
  const ptr = ev.ptr;
  for (let i = ptr.startsWith("0x") ? 2 : 0; i < ptr.length; i++) if (ptr.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * Strings of a trace's repeated fields (cache names, gfp flags) made once: the byte parser finds
 * the string of the same bytes in a small table (slot from the length and three bytes) and
 * compares it, instead of decoding a string per line.
 */
class Interner {
  private readonly slots: string[] = new Array<string>(256).fill("");

  of(b: Uint8Array, s: number, e: number): string {
    const n = e - s;
    if (n === 0) return "";
    const slot = (n * 7 + b[s] * 3 + b[e - 1] * 5 + b[s + (n >> 1)]) & 255;
    const hit = this.slots[slot];
    if (hit.length === n) {
      let k = 0;
      while (k < n && hit.charCodeAt(k) === b[s + k]) k++;
      if (k === n) return hit;
    }
    const str = latin1(b, s, e);
    this.slots[slot] = str;
    return str;
  }
}

function latin1(b: Uint8Array, s: number, e: number): string {
  return Buffer.prototype.latin1Slice.call(b, s, e) as string;
}

/** The four kmem events (with and without `_node`) as they start after the timestamp; indexed by HOT_*. */
const HOT_BYTES = [
  "kmem_cache_alloc",
  "kmem_cache_free",
  "kmalloc",
  "kfree",
  "kmem_cache_alloc_node",
  "kmalloc_node",
].map((name) => ({ text: Buffer.from(`${name}: `, "latin1"), type: EVENTS[name] }));
const HOT_CACHE_ALLOC = 0;
const HOT_CACHE_FREE = 1;
const HOT_KMALLOC = 2;
const HOT_KFREE = 3;
const HOT_CACHE_ALLOC_NODE = 4;
const HOT_KMALLOC_NODE = 5;

function bytesAt(b: Uint8Array, p: number, e: number, text: Uint8Array): boolean {
  if (p + text.length > e) return false;
  for (let k = 0; k < text.length; k++) if (b[p + k] !== text[k]) return false;
  return true;
}

/**
 * Parses the trace line in bytes [s, e) of `b` (latin1; no newline) into `ev`, with the same
 * result as parseLine on its text. The common lines — the four kmem events in ftrace or perf
 * shape — are read from the bytes, with no string made per line (pointers as numbers, cache names
 * and gfp flags interned); any other line goes to parseLine.
 */
export class ByteParser {
  /** The memory of the last buffer parsed, and its 32-bit words. */
  private memory: ArrayBufferLike | null = null;
  private words: Int32Array<ArrayBufferLike> = new Int32Array(0);
  private lastBuf: Uint8Array | null = null;
  private off = 0;
  private readonly names = new Interner();
  private readonly gfps = new Interner();

  parse(b: Uint8Array, s: number, e: number, ev: TraceEvent): SkipReason | null {
    if (this.fast(b, s, e, ev)) return null;
    return parseLine(latin1(b, s, e), ev);
  }

  /** True when the line is a hot kmem event read in full; false: parseLine decides. */
  private fast(b: Uint8Array, s: number, e: number, ev: TraceEvent): boolean {
    let i = s;
    while (i < e && (b[i] === 32 || b[i] === 9)) i++;
    if (i === e || b[i] === 35) return false;
    // the first " [" of the line must be the CPU column " [NNN]" (else parseLine looks further)
    let lb = i;
    while (lb + 1 < e && !(b[lb] === 32 && b[lb + 1] === 91)) lb++;
    if (lb + 1 >= e) return false;
    let rb = lb + 2;
    let cpu = 0;
    while (rb < e && isDigit(b[rb])) cpu = cpu * 10 + (b[rb++] - 48);
    if (rb >= e || b[rb] !== 93 || rb === lb + 2 || rb - lb - 2 > 4) return false;
    // task: "comm-pid" or "comm pid" right before the CPU (no TGID column, no pid/tid)
    let te = lb;
    while (te > i && b[te - 1] === 32) te--;
    let d = te;
    while (d > i && isDigit(b[d - 1])) d--;
    if (d === te || d === i || te - d > 15) return false;
    const sep = b[d - 1];
    if (sep !== 45 && sep !== 32 && sep !== 9) return false;
    let pid = 0;
    for (let k = d; k < te; k++) pid = pid * 10 + (b[k] - 48);
    // flags column (optional), timestamp, ": "
    let p = rb + 1;
    while (p < e && b[p] === 32) p++;
    let colon = p;
    while (colon + 1 < e && !(b[colon] === 58 && b[colon + 1] === 32)) colon++;
    if (colon + 1 >= e) return false;
    let tsStart = p;
    let sp = p;
    while (sp < colon && b[sp] !== 32) sp++;
    if (sp < colon) {
      tsStart = sp;
      while (tsStart < e && b[tsStart] === 32) tsStart++;
    }
    let ip = 0;
    let k = tsStart;
    for (; k < colon && isDigit(b[k]); k++) ip = ip * 10 + (b[k] - 48);
    if (k === tsStart) return false;
    let frac = 0;
    let scale = 1;
    if (k < colon && b[k] === 46) {
      for (k++; k < colon && isDigit(b[k]); k++) {
        frac = frac * 10 + (b[k] - 48);
        scale *= 10;
      }
    }
    if (k !== colon) return false;
    p = colon + 2;
    while (p < e && b[p] === 32) p++;
    if (b[p] === 107 && b[p + 1] === 109 && b[p + 2] === 101 && b[p + 3] === 109 && b[p + 4] === 58) p += 5;
    // which of the four events it can be (then compared in full)
    let h = -1;
    if (b[p] === 107 /* k */) {
      if (b[p + 1] === 109 /* km */) {
        if (b[p + 2] === 101 /* kmem_cache_ */) {
          if (b[p + 11] === 97) h = b[p + 16] === 95 ? HOT_CACHE_ALLOC_NODE : HOT_CACHE_ALLOC;
          else if (b[p + 11] === 102) h = HOT_CACHE_FREE;
        } else if (b[p + 2] === 97 /* kmalloc */) h = b[p + 7] === 95 ? HOT_KMALLOC_NODE : HOT_KMALLOC;
      } else if (b[p + 1] === 102 /* kfree */) h = HOT_KFREE;
    }
    if (h < 0 || !bytesAt(b, p, e, HOT_BYTES[h].text)) return false;
    const type = HOT_BYTES[h].type;
    p += HOT_BYTES[h].text.length - 1;
    // the fields: the first " key=" of each after the event name, in one pass
    let ptrAt = -1;
    let nameAt = -1;
    let baAt = -1;
    let gfpAt = -1;
    let accAt = -1;
    // four bytes at a time where none is a space (the words of the buffer's memory, aligned)
    if (b !== this.lastBuf) {
      this.lastBuf = b;
      this.off = b.byteOffset;
      if (b.buffer !== this.memory) {
        this.memory = b.buffer;
        this.words = new Int32Array(b.buffer, 0, b.buffer.byteLength >> 2);
      }
    }
    const words = this.words;
    const off = this.off;
    // the end of the value of the key last found (1 ptr, 2 name, 3 gfp_flags) is the next space
    let open = 0;
    let ptrEnd = e;
    let nameEnd = e;
    let gfpEnd = e;
    for (let q = p; q < e; q++) {
      const a = off + q;
      if ((a & 3) === 0) {
        while (q + 4 <= e) {
          const x = words[(off + q) >> 2] ^ 0x20202020;
          if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
          q += 4;
        }
        if (q >= e) break;
      }
      if (b[q] !== 32) continue;
      if (open !== 0) {
        if (open === 1) ptrEnd = q;
        else if (open === 2) nameEnd = q;
        else gfpEnd = q;
        open = 0;
      }
      const c = b[q + 1];
      if (c === 112 /* p */) {
        if (ptrAt < 0 && b[q + 2] === 116 && b[q + 3] === 114 && b[q + 4] === 61) {
          ptrAt = q + 5;
          open = 1;
        }
      } else if (c === 110 /* n */) {
        if (nameAt < 0 && b[q + 2] === 97 && b[q + 3] === 109 && b[q + 4] === 101 && b[q + 5] === 61) {
          nameAt = q + 6;
          open = 2;
        }
      } else if (c === 98 /* b */) {
        if (baAt < 0 && b[q + 7] === 97 && bytesAt(b, q, e, BYTES_ALLOC)) baAt = q + BYTES_ALLOC.length;
      } else if (c === 103 /* g */) {
        if (gfpAt < 0 && bytesAt(b, q, e, GFP_FLAGS)) {
          gfpAt = q + GFP_FLAGS.length;
          open = 3;
        }
      } else if (c === 97 /* a */) {
        if (accAt < 0 && bytesAt(b, q, e, ACCOUNTED)) accAt = q + ACCOUNTED.length;
      }
    }
    // a key found past the end of the line (b[q + n] beyond e) is not one
    if (ptrAt > e || nameAt > e || ptrAt < 0) return false;
    if (ptrEnd === ptrAt) return false;
    const hasCache = type === EV_CACHE_ALLOC || type === EV_CACHE_FREE;
    let cache = "";
    if (hasCache) {
      if (nameAt < 0)
        return type === EV_CACHE_FREE
          ? this.finish(b, ev, type, cpu, pid, ip, frac, scale, ptrAt, ptrEnd, "")
          : false;
      cache = this.names.of(b, nameAt, nameEnd);
      if (cache.length === 0 && type === EV_CACHE_ALLOC) return false;
    }
    if (type === EV_CACHE_ALLOC || type === EV_KMALLOC) {
      if (baAt < 0) return false;
      let ba = 0;
      let j = baAt;
      for (; j < e && b[j] !== 32; j++) {
        if (!isDigit(b[j])) return false;
        ba = ba * 10 + (b[j] - 48);
      }
      if (j === baAt || !(ba > 0)) return false;
      const gfp = gfpAt < 0 ? "" : this.gfps.of(b, gfpAt, gfpEnd);
      ev.bytesAlloc = ba;
      ev.gfp = gfp;
      ev.accounted = accAt < 0 ? gfp.includes("ACCOUNT") : bytesAt(b, accAt, e, TRUE);
    }
    return this.finish(b, ev, type, cpu, pid, ip, frac, scale, ptrAt, ptrEnd, cache);
  }

  private finish(
    b: Uint8Array,
    ev: TraceEvent,
    type: number,
    cpu: number,
    pid: number,
    ip: number,
    frac: number,
    scale: number,
    ptrAt: number,
    ptrEnd: number,
    cache: string,
  ): boolean {
    ev.type = type;
    ev.cpu = cpu;
    ev.pid = pid;
    ev.ts = ip + frac / scale;
    ev.cache = cache;
    if (ptrKey(b, ptrAt, ptrEnd, ev)) ev.ptr = "";
    else ev.ptr = latin1(b, ptrAt, ptrEnd);
    return true;
  }
}

const BYTES_ALLOC = Buffer.from(" bytes_alloc=", "latin1");
const GFP_FLAGS = Buffer.from(" gfp_flags=", "latin1");
const ACCOUNTED = Buffer.from(" accounted=", "latin1");
const TRUE = Buffer.from("true", "latin1");

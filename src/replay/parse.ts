/**
 * One line of a kernel trace: ftrace text as `trace_pipe`/`trace` print it, or `perf script`
 * output of the same tracepoints. Only the fields the replay needs are extracted, with indexOf
 * (no regular expression per line): the parser sits on the replay's hot path.
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
  ptr: string;
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
      ev.ptr = ptr;
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
      ev.ptr = ptr;
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

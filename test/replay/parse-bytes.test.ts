import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { readTraceBytes, readTraceLines } from "../../src/replay/input.js";
import {
  ByteParser,
  newEvent,
  parseLine,
  ptrIsNull,
  ptrText,
  type TraceEvent,
} from "../../src/replay/parse.js";

const FIXTURES = join(import.meta.dirname, "fixtures");

/** What the replay reads of an event, with the pointer as text. */
function view(r: string | null, ev: TraceEvent) {
  if (r !== null) return { r };
  return {
    r,
    type: ev.type,
    pid: ev.pid,
    cpu: ev.cpu,
    ts: ev.ts,
    ptr: ptrText(ev),
    ptrHi: ev.ptrHi,
    ptrLo: ev.ptrLo,
    isNull: ptrIsNull(ev),
    cache: ev.cache,
    ...(ev.type <= 2 ? { bytesAlloc: ev.bytesAlloc, accounted: ev.accounted, gfp: ev.gfp } : {}),
    ...(ev.type >= 5 && ev.type <= 6 ? { pfn: ev.pfn, order: ev.order } : {}),
    ...(ev.type >= 7 ? { childPid: ev.childPid } : {}),
  };
}

function both(line: string) {
  const a = newEvent();
  const viaText = view(parseLine(line, a), a);
  const b = newEvent();
  // the line inside a larger buffer, as the stream hands it over
  const buf = Buffer.from(`xx ptr=1 name=z\n${line}\n ptr=0 name=q`, "latin1");
  const s = 16;
  const viaBytes = view(new ByteParser().parse(buf, s, s + Buffer.byteLength(line, "latin1"), b), b);
  return { viaText, viaBytes };
}

const EDGE = [
  "         python3-11431   [000] .N... 23237.047832: kmem_cache_alloc: call_site=__d_alloc+0x2d/0x230 ptr=000000003c3bd577 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true",
  "         python3  8567 [000] 23035.650424: kmem:kmem_cache_alloc: call_site=__d_alloc+0x2d ptr=0xffff888100a3c000 bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true name=dentry",
  "       kworker/0:1 77/79 [001] 100.000001: kmem:kfree: call_site=rcu_do_batch+0x1b7 ptr=0xffff888100a3c000",
  "  python3-1  (    1) [003] ..... 1.5: kmem_cache_free: call_site=x ptr=00000000000000ab name=dentry",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=ABCDEF name=dentry",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=0x name=dentry",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=0000000000000000 name=dentry",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=0x0 name=dentry",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr=00000000000000000",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr=f",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr=fffffffffffffff0",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr=0x00000000000000f0",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr=",
  "  a-1 [000] ..... 1.0: kfree: call_site=x ptr",
  "  a-1 [000] ..... 1.0: kfree: call_site=x pt",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=1 name=",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=1 nam",
  "  a-1 [000] ..... 1.0: kmem_cache_free: call_site=x ptr=1",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name= bytes_alloc=8",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=0",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=8x",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=8 gfp_flags=GFP_KERNEL_ACCOUNT",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=8 gfp_flags=GFP_KERNEL_ACCOUNT accounted=false",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=8 accounted=tru",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc: call_site=x ptr=1 name=a bytes_alloc=8 gfp_flags=",
  "  a-1 [000] ..... 1.0: kmalloc_node: call_site=x ptr=1 bytes_alloc=16384 gfp_flags=GFP_KERNEL accounted=true",
  "  a-1 [000] ..... 1.0: kmem_cache_alloc_node: call_site=x ptr=1 name=b bytes_alloc=64 accounted=true",
  "  a-1 [000] 1.0: kmem_cache_alloc: call_site=x ptr=1 name=b bytes_alloc=64 accounted=true",
  "  a-1 [000] x y 1.0: kmem_cache_alloc: call_site=x ptr=1 name=b bytes_alloc=64 accounted=true",
  "  a-1 [00000] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a [x] b-2 [001] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-99999999999999999999 [001] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  1 [001] ..... 1.0: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... .5: kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0: sched:kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0: kmem:kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0:  kmalloc: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0: kmallocx: call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0: kmalloc:call_site=x ptr=1 bytes_alloc=8",
  "  a-1 [000] ..... 1.0: kmalloc: ptr=1  bytes_alloc=8  ptr=2 bytes_alloc=9",
  "  a-1 [000] ..... 1.0: kmalloc: call_site=x ptr=1\tbytes_alloc=8",
  "  a-1 [000] ..... 1.0: mm_page_alloc: page=1 pfn=0x1 order=0 gfp_flags=GFP_KERNEL_ACCOUNT",
  "  a-1 [000] ..... 1.0: sched_process_exit: comm=a pid=1 prio=120",
  "# tracer: nop",
  "   ",
  "",
  "hello world",
  "\u0000\u0001\u00ff[000] garbage: ::",
];

describe("ByteParser: the same result as parseLine", () => {
  it("on every line of every shared recording", () => {
    let n = 0;
    for (const dir of readdirSync(FIXTURES)) {
      const text = gunzipSync(readFileSync(join(FIXTURES, dir, "trace.txt.gz"))).toString("latin1");
      for (const line of text.split("\n")) {
        const { viaText, viaBytes } = both(line);
        expect(viaBytes, `${dir}: ${line}`).toEqual(viaText);
        n++;
      }
    }
    expect(n).toBeGreaterThan(100_000);
  });

  it("on perf lines, odd pointers, missing and garbled fields", () => {
    for (const line of EDGE) {
      const { viaText, viaBytes } = both(line);
      expect(viaBytes, line).toEqual(viaText);
    }
  });

  it("keys pointers by their text: equal texts alike, different texts apart", () => {
    const key = (p: string) => {
      const ev = newEvent();
      expect(parseLine(`  a-1 [000] ..... 1.0: kfree: call_site=x ptr=${p}`, ev)).toBeNull();
      return `${ev.ptrHi}/${ev.ptrLo}/${ev.ptrHi < 0 ? ev.ptr : ""}`;
    };
    const texts = [
      "ff",
      "0ff",
      "00ff",
      "0xff",
      "0x0ff",
      "ffffffff",
      "1ffffffff",
      "ffffffffffffffff",
      "7fffffffffffffff",
      "FF",
      "0",
    ];
    const keys = texts.map(key);
    expect(new Set(keys).size).toBe(texts.length);
    expect(key("00000000deadbeef")).toBe(key("00000000deadbeef"));
    const ev = newEvent();
    const line = Buffer.from("  a-1 [000] ..... 1.0: kfree: call_site=x ptr=1ffffffff");
    expect(new ByteParser().parse(line, 0, line.length, ev)).toBeNull();
    expect(ev.ptr).toBe("");
    expect(ptrText(ev)).toBe("1ffffffff");
  });
});

describe("readTraceBytes: the lines of readTraceLines", () => {
  it("across chunk boundaries, CRLF, a last line without newline", async () => {
    const text = "a b\r\n\nline three\n\r\nlong ".repeat(5) + "x".repeat(3000) + "\nend\r";
    const chunks = (size: number) =>
      (async function* () {
        const b = Buffer.from(text, "latin1");
        for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
      })();
    for (const size of [1, 2, 3, 7, 64, 5000]) {
      const a: string[] = [];
      const na = await readTraceLines(chunks(size), "no", (l, n) => a.push(`${n}:${l}`));
      const b: string[] = [];
      const nb = await readTraceBytes(chunks(size), "no", (buf, s, e, n) =>
        b.push(`${n}:${buf.toString("latin1", s, e)}`),
      );
      expect(b, `chunks of ${size}`).toEqual(a);
      expect(nb).toBe(na);
    }
  });
});

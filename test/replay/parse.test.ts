import { describe, expect, it } from "vitest";
import {
  EV_CACHE_ALLOC,
  EV_CACHE_FREE,
  EV_EXIT,
  EV_FORK,
  EV_KFREE,
  EV_KMALLOC,
  EV_PAGE_ALLOC,
  EV_PAGE_FREE,
  kmallocCacheName,
  newEvent,
  orderOf,
  parseLine,
} from "../../src/replay/parse.js";

/** Every line shape of the shared recordings (copied verbatim from test/replay/fixtures), perf script, garbage. */
function parsed(line: string) {
  const ev = newEvent();
  const r = parseLine(line, ev);
  return { r, ev };
}

describe("parseLine: ftrace lines of the recordings", () => {
  it("kmem_cache_alloc with flags ..... (mkdir-2000 line 2)", () => {
    const { r, ev } = parsed(
      "         python3-11431   [000] .N... 23237.047832: kmem_cache_alloc: call_site=__d_alloc+0x2d/0x230 ptr=000000003c3bd577 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({
      type: EV_CACHE_ALLOC,
      pid: 11431,
      cpu: 0,
      ts: 23237.047832,
      ptr: "000000003c3bd577",
      cache: "dentry",
      bytesAlloc: 192,
      gfp: "GFP_KERNEL",
      accounted: true,
    });
  });

  it("kmalloc, accounted=false, node=0, flags ...1.", () => {
    const { r, ev } = parsed(
      "         python3-11812   [000] ...1. 23278.930540: kmalloc: call_site=alloc_slab_obj_exts+0x58/0x110 ptr=00000000fa34a81f bytes_req=168 bytes_alloc=192 gfp_flags=GFP_KERNEL|__GFP_ZERO|__GFP_COMP node=0 accounted=false",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({
      type: EV_KMALLOC,
      pid: 11812,
      ptr: "00000000fa34a81f",
      cache: "",
      bytesAlloc: 192,
      accounted: false,
      gfp: "GFP_KERNEL|__GFP_ZERO|__GFP_COMP",
    });
  });

  it("kmem_cache_free from softirq on the idle task (<idle>-0, flags .Ns1.)", () => {
    const { r, ev } = parsed(
      "          <idle>-0       [000] .Ns1. 23267.747038: kmem_cache_free: call_site=rcu_do_batch+0x1b7/0x530 ptr=000000005ad8f10f name=lsm_inode_cache",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({
      type: EV_CACHE_FREE,
      pid: 0,
      cpu: 0,
      ptr: "000000005ad8f10f",
      cache: "lsm_inode_cache",
    });
  });

  it("kfree on CPU 1 by another task", () => {
    const { r, ev } = parsed(
      "           sleep-11685   [001] ..... 23268.171420: kfree: call_site=__mt_destroy+0x8e/0xa0 ptr=00000000ca5705ba",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({ type: EV_KFREE, pid: 11685, cpu: 1, ptr: "00000000ca5705ba" });
  });

  it("a comm with a dash (ctags-universal-11898)", () => {
    const { r, ev } = parsed(
      " ctags-universal-11898   [001] ..... 23279.261481: kfree: call_site=__mt_destroy+0x8e/0xa0 ptr=00000000aa3ec68a",
    );
    expect(r).toBeNull();
    expect(ev.pid).toBe(11898);
  });

  it("mm_page_alloc and sched_process_fork of fork-100", () => {
    const a = parsed(
      "         python3-30211   [000] ..... 27804.593165: mm_page_alloc: page=000000006518fa68 pfn=0x11f41c order=1 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP",
    );
    expect(a.r).toBeNull();
    expect(a.ev).toMatchObject({
      type: EV_PAGE_ALLOC,
      pid: 30211,
      pfn: "0x11f41c",
      order: 1,
      gfp: "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP",
    });
    const f = parsed(
      "         python3-30211   [000] ..... 27804.593794: sched_process_fork: comm=python3 pid=30211 child_comm=python3 child_pid=30213",
    );
    expect(f.r).toBeNull();
    expect(f.ev).toMatchObject({ type: EV_FORK, pid: 30211, childPid: 30213 });
  });

  it("mm_page_free and sched_process_exit (the kernel's print formats)", () => {
    const p = parsed(
      "          python3-30213   [000] ..... 27805.100000: mm_page_free: page=000000006518fa68 pfn=0x11f41c order=1",
    );
    expect(p.r).toBeNull();
    expect(p.ev).toMatchObject({ type: EV_PAGE_FREE, pfn: "0x11f41c", order: 1 });
    const x = parsed(
      "          python3-30213   [000] ..... 27805.200000: sched_process_exit: comm=python3 pid=30213 prio=120",
    );
    expect(x.r).toBeNull();
    expect(x.ev).toMatchObject({ type: EV_EXIT, childPid: 30213 });
  });

  it("a TGID column (trace with the record-tgid option)", () => {
    const { r, ev } = parsed(
      "         python3-11431   (  11431) [000] ..... 23237.047832: kmem_cache_alloc: call_site=__d_alloc+0x2d/0x230 ptr=000000003c3bd577 name=dentry bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({ pid: 11431, cache: "dentry" });
  });

  it("a kernel without accounted= (before 6.0): the gfp flag says it", () => {
    const { r, ev } = parsed(
      " python3-1 [000] .... 1.5: kmalloc: call_site=x ptr=00000000deadbeef bytes_req=100 bytes_alloc=128 gfp_flags=GFP_KERNEL_ACCOUNT node=-1",
    );
    expect(r).toBeNull();
    expect(ev.accounted).toBe(true);
  });
});

describe("parseLine: perf script lines", () => {
  it("comm pid [cpu] ts: kmem:kmem_cache_alloc:", () => {
    const { r, ev } = parsed(
      "         python3  8567 [000] 23035.650424: kmem:kmem_cache_alloc: call_site=__d_alloc+0x2d ptr=0xffff888100a3c000 bytes_req=192 bytes_alloc=192 gfp_flags=GFP_KERNEL node=-1 accounted=true name=dentry",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({
      type: EV_CACHE_ALLOC,
      pid: 8567,
      cpu: 0,
      ts: 23035.650424,
      ptr: "0xffff888100a3c000",
      cache: "dentry",
      accounted: true,
    });
  });

  it("comm pid/tid and a kfree", () => {
    const { r, ev } = parsed(
      "       kworker/0:1 77/79 [001] 100.000001: kmem:kfree: call_site=rcu_do_batch+0x1b7 ptr=0xffff888100a3c000",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({ type: EV_KFREE, pid: 79, cpu: 1, ptr: "0xffff888100a3c000" });
  });

  it("sched:sched_process_fork", () => {
    const { r, ev } = parsed(
      "  python3 30211 [000] 27804.593794: sched:sched_process_fork: comm=python3 pid=30211 child_comm=python3 child_pid=30213",
    );
    expect(r).toBeNull();
    expect(ev).toMatchObject({ type: EV_FORK, pid: 30211, childPid: 30213 });
  });
});

describe("parseLine: lines it does not use", () => {
  it("header comments, blank lines, other events", () => {
    expect(parsed("# tracer: nop").r).toBe("comment");
    expect(parsed("#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION").r).toBe("comment");
    expect(parsed("   ").r).toBe("blank");
    expect(parsed("  bash-1 [000] ..... 1.000000: sched_switch: prev_comm=bash prev_pid=1").r).toBe(
      "otherEvent",
    );
    expect(parsed("  bash 1 [000] 1.000000: irq:irq_handler_entry: irq=1 name=x").r).toBe("otherEvent");
  });

  it("garbled lines", () => {
    for (const line of [
      "hello world",
      "python3-11431 [000] ..... notatime: kmem_cache_alloc: ptr=1 bytes_alloc=8",
      "python3-11431 [0x0] ..... 1.0: kmem_cache_alloc: ptr=1 bytes_alloc=8",
      "python3-x [000] ..... 1.0: kmalloc: ptr=1 bytes_alloc=8",
      "python3-1 [000] ..... 1.0: kmalloc: call_site=x bytes_alloc=8",
      "python3-1 [000] ..... 1.0: kmalloc: call_site=x ptr=00000000deadbeef bytes_alloc=abc",
      "python3-1 [000] ..... 1.0: kmem_cache_alloc: ptr=00000000deadbeef bytes_alloc=64",
      "python3-1 [000] ..... 1.0: mm_page_alloc: page=1 pfn=0x1 order=99 gfp_flags=GFP_KERNEL_ACCOUNT",
      "python3-1 [000] ..... 1.0: sched_process_fork: comm=a pid=1 child_comm=b",
      "\u0000\u0001\u00ff[000] garbage: ::",
      "python3-1 [000] ..... 1.0: kmem_cache_free: call_site=x name=dentry",
    ])
      expect(parsed(line).r, line).toBe("garbled");
  });
});

describe("kmalloc classes", () => {
  it("names the caches as /proc/slabinfo does, kmalloc-cg-* when accounted", () => {
    expect(kmallocCacheName(8, true)).toBe("kmalloc-cg-8");
    expect(kmallocCacheName(96, false)).toBe("kmalloc-96");
    expect(kmallocCacheName(192, true)).toBe("kmalloc-cg-192");
    expect(kmallocCacheName(1024, true)).toBe("kmalloc-cg-1k");
    expect(kmallocCacheName(8192, false)).toBe("kmalloc-8k");
  });

  it("large kmalloc: get_order of the size", () => {
    expect(orderOf(8193)).toBe(2);
    expect(orderOf(16384)).toBe(2);
    expect(orderOf(16385)).toBe(3);
    expect(orderOf(4096)).toBe(0);
  });
});

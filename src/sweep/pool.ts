import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { EngineError, type ErrorCode } from "../engine/index.js";
import type { PointLimits } from "./point.js";
import type { SweepSpec } from "./spec.js";
import type { PointReply, PointRequest } from "./worker.js";

/** One finished point from a worker: its results.jsonl line and its wall time in ms. */
export interface PointDone {
  line: string;
  wallMs: number;
}

/** The default worker count: the machine's cores. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

/**
 * The worker script next to this module: `worker.js` in dist/, started as it is. From the sources
 * (`worker.ts`, under tsx or vitest), Node 20 does not pass module loaders on to worker threads, so
 * the thread first registers tsx's loader and then imports `worker.ts`.
 */
function startWorker(): Worker {
  const here = import.meta.url;
  if (!here.endsWith(".ts")) return new Worker(new URL("./worker.js", here));
  // tsx's public `tsx/esm/api` register() works in a thread (its --import entry registers only on
  // the main thread); its ESM build sits next to the CommonJS one that require.resolve finds
  const api = pathToFileURL(
    createRequire(here)
      .resolve("tsx/esm/api")
      .replace(/\.cjs$/, ".mjs"),
  ).href;
  const entry = new URL("./worker.ts", here).href;
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); }).catch((e) => { require("node:worker_threads").parentPort.postMessage({ id: -1, error: { code: null, message: String(e && e.stack || e) } }); });`;
  // the parent's execArgv carries tsx's own flags, which fail inside a thread on Node 20
  return new Worker(boot, { eval: true, execArgv: [] });
}

interface Slot {
  worker: Worker;
  busy: { id: number; resolve: (d: PointDone) => void; reject: (e: Error) => void } | null;
}

/**
 * A fixed pool of worker threads running sweep points (`runPoint`), one point per thread at a time.
 * `run` queues a point and resolves with its line; a point that fails rejects with the
 * EngineError it failed with (rebuilt from the thread's message). A thread that dies is replaced.
 */
export class SweepPool {
  private readonly slots: Slot[] = [];
  private readonly queue: {
    req: Omit<PointRequest, "id">;
    resolve: (d: PointDone) => void;
    reject: (e: Error) => void;
  }[] = [];
  private nextId = 1;
  private closed = false;
  /** Set when a thread could not start: no thread will, so the pool refuses work from then on. */
  private broken: Error | null = null;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError("a sweep pool needs at least one worker");
    for (let i = 0; i < size; i++) this.slots.push(this.spawn());
  }

  private spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, busy: null };
    worker.on("message", (reply: PointReply) => {
      const job = slot.busy;
      slot.busy = null;
      if (reply.id === -1 && "error" in reply) {
        // the thread could not start (its loader or its module failed): neither will the next one,
        // so fail everything now instead of starting threads in a loop
        this.broken = new Error(`sweep worker did not start: ${reply.error.message}`);
        job?.reject(this.broken);
        for (const queued of this.queue.splice(0)) queued.reject(this.broken);
        void worker.terminate();
        return;
      }
      if (job !== null && job.id === reply.id) {
        if ("line" in reply) job.resolve({ line: reply.line, wallMs: reply.wallMs });
        else
          job.reject(
            reply.error.code === null
              ? new Error(`sweep worker: ${reply.error.message}`)
              : new EngineError(reply.error.code as ErrorCode, reply.error.message, reply.error.details),
          );
      }
      this.pump();
    });
    const dead = (err: Error) => {
      const job = slot.busy;
      slot.busy = null;
      job?.reject(err);
      const i = this.slots.indexOf(slot);
      if (i >= 0 && !this.closed && this.broken === null) {
        this.slots[i] = this.spawn();
        this.pump();
      }
    };
    worker.on("error", dead);
    worker.on("exit", (code) => {
      if (!this.closed) dead(new Error(`sweep worker exited with code ${code}`));
    });
    worker.unref();
    return slot;
  }

  /** Runs point `index` of `spec` on the next free thread. */
  run(spec: SweepSpec, index: number, limits: PointLimits): Promise<PointDone> {
    if (this.closed) return Promise.reject(new Error("sweep pool closed"));
    if (this.broken !== null) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.queue.push({ req: { spec, index, limits }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.busy !== null) continue;
      const job = this.queue.shift();
      if (job === undefined) return;
      const id = this.nextId++;
      slot.busy = { id, resolve: job.resolve, reject: job.reject };
      slot.worker.ref();
      slot.worker.postMessage({ id, ...job.req } satisfies PointRequest);
    }
    // idle threads do not keep the process alive
    for (const slot of this.slots) if (slot.busy === null) slot.worker.unref();
  }

  /** Ends every thread; queued and running points reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("sweep pool closed"));
    await Promise.all(
      this.slots.map(async (s) => {
        s.busy?.reject(new Error("sweep pool closed"));
        s.busy = null;
        await s.worker.terminate();
      }),
    );
  }
}

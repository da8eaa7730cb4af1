import type { FastifyReply, FastifyRequest } from "fastify";
import type { EventLog, SimEvent } from "../engine/index.js";
import type { Registry, RegistryEvent } from "../registry.js";
import { stringifyExact } from "./json.js";

export interface SseOptions {
  /** A comment line this often keeps proxies and idle timeouts from closing the stream. */
  heartbeatMs: number;
  /** A client that lets this much output pile up is cut off (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
}

export const DEFAULT_SSE_OPTIONS = { heartbeatMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024 } as const;

/** Replay pages are bounded so one stream start never builds one huge string. */
const REPLAY_PAGE = 1000;

/** Whether the client asked for `text/event-stream` (docs/API.md §8: SSE "when asked for it"). */
export function wantsEventStream(req: FastifyRequest): boolean {
  const accept = req.headers.accept;
  return typeof accept === "string" && accept.toLowerCase().includes("text/event-stream");
}

/** `Last-Event-ID` (the last seq the client saw) → the first seq to send; null when absent or not a seq. */
export function resumeSeqOf(req: FastifyRequest): number | null {
  const h = req.headers["last-event-id"];
  if (typeof h !== "string" || !/^\d{1,15}$/.test(h.trim())) return null;
  return Number(h.trim()) + 1;
}

/**
 * The SSE watchers of one app: each holds one of the registry's watcher slots (shared with gRPC
 * WatchEvents, `maxWatchers`), all ended on close so a shutdown never waits on an open stream.
 */
export class SseHub {
  private readonly streams = new Set<() => void>();

  constructor(
    private readonly registry: Registry,
    private readonly opts: SseOptions,
  ) {}

  get watcherCount(): number {
    return this.streams.size;
  }

  closeAll(): void {
    for (const end of [...this.streams]) end();
  }

  /**
   * Streams the events of `name` with seq ≥ fromSeq, then follows the log. `id:` is the seq.
   * A reset instance restarts its log at 1: the stream says so (`event: reset`) and follows the
   * new log; a deleted instance ends the stream. Throws before anything is written if refused.
   */
  open(req: FastifyRequest, reply: FastifyReply, name: string, fromSeq: number): void {
    let log: EventLog = this.registry.get(name).instance.events;
    const release = this.registry.acquireWatcher();

    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-request-id": String(req.id),
    });

    let next = fromSeq;
    let ended = false;
    const write = (text: string) => {
      if (ended) return;
      raw.write(text);
      if (raw.writableLength > this.opts.maxBufferedBytes) end();
    };
    const send = (e: SimEvent) => {
      if (e.seq < next) return;
      next = e.seq + 1;
      write(`id: ${e.seq}\ndata: ${stringifyExact(e)}\n\n`);
    };
    const replay = () => {
      // Bounded: the log keeps at most `capacity` events, each page advances `next`.
      for (
        let page = log.since(next, REPLAY_PAGE);
        page.length > 0 && !ended;
        page = log.since(next, REPLAY_PAGE)
      )
        for (const e of page) send(e);
    };

    let unsubscribe = log.subscribe(send);
    const offRegistry = this.registry.on((e: RegistryEvent) => {
      if (e.name !== name) return;
      if (e.kind === "deleted") end();
      else if (e.kind === "reset") {
        unsubscribe();
        log = this.registry.get(name).instance.events;
        next = 1;
        write(`event: reset\ndata: ${JSON.stringify({ nextSeq: log.nextSeq })}\n\n`);
        unsubscribe = log.subscribe(send);
      }
    });
    const heartbeat = setInterval(() => write(": heartbeat\n\n"), this.opts.heartbeatMs);
    heartbeat.unref();

    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      unsubscribe();
      offRegistry();
      this.streams.delete(end);
      release();
      if (!raw.writableEnded) raw.end();
    };
    this.streams.add(end);
    raw.on("close", end);

    write("retry: 1000\n\n");
    replay();
  }
}

import type { FastifyReply, FastifyRequest } from "fastify";
import type { SimEvent } from "../engine/index.js";
import { type FollowEnd, type Service, stringifyExact } from "../service/index.js";

export interface SseOptions {
  /** A comment line this often keeps proxies and idle timeouts from closing the stream. */
  heartbeatMs: number;
  /** A client that lets this much output pile up is cut off (it resumes with Last-Event-ID). */
  maxBufferedBytes: number;
}

export const DEFAULT_SSE_OPTIONS = { heartbeatMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024 } as const;

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
 * The SSE watchers of one app: each is a follower of the service layer (src/service/follower.ts,
 * shared with gRPC WatchEvents) holding one of the registry's watcher slots (`maxWatchers`), all
 * ended on close so a shutdown never waits on an open stream.
 */
export class SseHub {
  private readonly streams = new Set<() => void>();

  constructor(
    private readonly service: Service,
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
   * A reset instance restarts its log at 1: once every event of the old log was sent, the stream
   * says so (`event: reset`) and follows the new log; a deleted instance ends the stream, and so
   * does a client more than the log's capacity behind (it resumes with Last-Event-ID). Throws
   * before anything is written if refused.
   */
  open(req: FastifyRequest, reply: FastifyReply, name: string, fromSeq: number): void {
    const raw = reply.raw;
    let ended = false;
    const write = (text: string) => {
      if (ended) return;
      raw.write(text);
      if (raw.writableLength > this.opts.maxBufferedBytes) end();
    };
    const follower = this.service.follow(name, fromSeq, {
      event: (e: SimEvent) => {
        write(`id: ${e.seq}\ndata: ${stringifyExact(e)}\n\n`);
        return true;
      },
      reset: (nextSeq: number) => {
        write(`event: reset\ndata: ${JSON.stringify({ nextSeq })}\n\n`);
        return true;
      },
      end: (reason: FollowEnd) => {
        if (reason.kind === "failed") req.log.error({ err: reason.error }, "SSE stream failed");
        end();
      },
    });

    reply.hijack();
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      "x-request-id": String(req.id),
    });

    const heartbeat = setInterval(() => write(": heartbeat\n\n"), this.opts.heartbeatMs);
    heartbeat.unref();

    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      follower.close();
      this.streams.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    this.streams.add(end);
    raw.on("close", end);

    write("retry: 1000\n\n");
    follower.start();
  }
}

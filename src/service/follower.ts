import { EngineError, type EventLog, type SimEvent } from "../engine/index.js";
import type { Registry, RegistryEvent } from "../registry.js";

/** Events read from the log per step of a catch-up. */
const EVENTS_PER_PAGE = 256;

/** Why a follow ended on its own (not by `close()`). */
export type FollowEnd =
  /** The instance was deleted. */
  | { kind: "deleted"; error: EngineError }
  /**
   * The reader fell more than the log's capacity behind: the events at its cursor were evicted
   * before they could be delivered (LIMIT_EXCEEDED `eventLogCapacity`, with `firstLostSeq`).
   */
  | { kind: "fellBehind"; error: EngineError }
  /** The transport's own code threw (a bug): the follow ends rather than fail a command. */
  | { kind: "failed"; error: unknown };

/** What a transport does with what the follower delivers (SSE: src/rest/sse.ts; gRPC WatchEvents: src/grpc/watch.ts). */
export interface FollowSink {
  /** One event, in seq order without holes. `false`: the reader pushes back; nothing more until `resume()`. */
  event(e: SimEvent): boolean;
  /**
   * The instance was reset after every event of its old log was delivered; the follow goes on
   * with seq `nextSeq` (1) of the new log. `true`: follow the new log from there; `false`: the follow ends here.
   */
  reset(nextSeq: number): boolean;
  /** The follow ended on its own; the watcher slot is already released. */
  end(reason: FollowEnd): void;
}

/**
 * The one event-log follower of both transports (docs/API.md §8 SSE, §10 WatchEvents): delivers
 * the kept events of an instance with seq ≥ fromSeq, then follows the log.
 *
 * - Published after a command, not inside it: while the engine runs a command the log only hands
 *   each new event to the follower (an array push, or a note that a paused reader's next event
 *   was just evicted); the transport is called in a microtask once the command's synchronous run
 *   is over, so no transport code runs inside a command and a transport fault can never fail one.
 * - Back-pressure: when the sink pushes back the follower buffers nothing: the instance's event log
 *   (a bounded ring shared by every reader) already holds what was not delivered, so a paused
 *   reader costs only its cursor; `resume()` catches up from the log. If the log evicts the event
 *   at the cursor meanwhile, the follow ends `fellBehind`: dropping silently would hand the reader
 *   a history with holes. A fromSeq older than the oldest kept event is not an error: delivery
 *   starts at the oldest kept one, as the JSON page does.
 * - Reset: every event of the old log the reader is owed is delivered first (even after back-
 *   pressure), then `reset`; the sink chooses whether to follow the new log (SSE announces it and
 *   follows; WatchEvents ends OK with a trailer). Delete: the same drain, then `end("deleted")`.
 * - One slot of the registry's `maxWatchers` (shared by both transports) is held until the end.
 */
export class EventFollower {
  private log: EventLog;
  private cursor: number;
  private paused = false;
  private done = false;
  /** A gap is tolerated only on the first read (an old fromSeq); later it means events were lost. */
  private strict = false;
  /** Events appended during the current command, in order (taken only while delivery keeps up). */
  private queue: SimEvent[] = [];
  /** Set when the queue cannot be trusted to be contiguous: read from the log instead. */
  private readLog = true;
  /** What happened to the instance, delivered once the old log is drained. */
  private pending: { kind: "reset"; log: EventLog } | { kind: "deleted" } | null = null;
  /** Set the moment the ring evicts the event at a paused reader's cursor. */
  private lost: { firstLostSeq: number; oldestKeptSeq: number } | null = null;
  private scheduled = false;
  private unsubscribeLog: () => void;
  private readonly offRegistry: () => void;
  private readonly release: () => void;

  /** Throws INSTANCE_NOT_FOUND, then LIMIT_EXCEEDED (`maxWatchers`), before anything is delivered. */
  constructor(
    private readonly registry: Registry,
    private readonly name: string,
    fromSeq: number,
    private readonly sink: FollowSink,
  ) {
    this.log = registry.get(name).instance.events;
    this.release = registry.acquireWatcher();
    this.cursor = Math.max(1, fromSeq);
    this.unsubscribeLog = this.log.subscribe(this.collect);
    this.offRegistry = registry.on(this.onRegistry);
  }

  /** Delivers the kept events from fromSeq; later ones follow each command. */
  start(): void {
    this.guard(() => this.pump());
  }

  /** The sink can take events again. */
  resume(): void {
    if (this.done || !this.paused || this.lost !== null) return;
    this.paused = false;
    this.guard(() => this.pump());
  }

  /** Ends the follow without telling the sink (the transport ended it: client gone, shutdown). */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.unsubscribeLog();
    this.offRegistry();
    this.queue = [];
    this.release();
  }

  get closed(): boolean {
    return this.done;
  }

  /**
   * Inside a command (the log notifies synchronously): only remember the event, or that the event
   * at a paused reader's cursor was just evicted, and schedule delivery for when the command is done.
   */
  private readonly collect = (e: SimEvent): void => {
    if (this.done) return;
    if (this.paused) {
      // the ring just evicted seq e.seq − capacity: is the next event this reader needs gone?
      if (this.lost === null && e.seq - this.cursor >= this.log.capacity)
        this.lost = { firstLostSeq: this.cursor, oldestKeptSeq: e.seq - this.log.capacity + 1 };
      else return;
    } else if (!this.readLog) {
      const want = this.queue.length === 0 ? this.cursor : this.queue[this.queue.length - 1].seq + 1;
      if (e.seq === want && this.queue.length < this.log.capacity) this.queue.push(e);
      else {
        this.queue = [];
        this.readLog = true;
      }
    }
    this.schedule();
  };

  /** Delivery runs once the running command (or the current synchronous task) is over. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(this.deliver);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    if (this.done) return;
    this.guard(() => {
      if (this.lost !== null) this.fellBehind(this.lost.firstLostSeq, this.lost.oldestKeptSeq);
      else this.pump();
    });
  };

  private readonly onRegistry = (ev: RegistryEvent): void => {
    if (ev.name !== this.name || this.done) return;
    if (ev.kind === "reset") {
      this.pending = { kind: "reset", log: this.registry.get(this.name).instance.events };
      this.schedule();
    } else if (ev.kind === "deleted") {
      this.pending = { kind: "deleted" };
      this.schedule();
    }
  };

  /** Delivers from the cursor until the log is exhausted or the sink pushes back; then what is pending. */
  private pump(): void {
    if (this.done || this.paused) return;
    if (!this.readLog) {
      const queued = this.queue;
      this.queue = [];
      for (const e of queued) if (!this.send(e)) return;
    } else {
      const maxRounds = Math.ceil(this.log.capacity / EVENTS_PER_PAGE) + 2;
      for (let round = 0; round < maxRounds; round++) {
        if (this.done || this.paused) return;
        // nothing new: skip the ring scan
        const batch = this.cursor >= this.log.nextSeq ? [] : this.log.since(this.cursor, EVENTS_PER_PAGE);
        const tolerateGap = !this.strict;
        this.strict = true;
        if (batch.length === 0) break;
        if (batch[0].seq > this.cursor && !tolerateGap) {
          this.fellBehind(this.cursor, batch[0].seq);
          return;
        }
        for (const e of batch) if (!this.send(e)) return;
      }
      if (this.cursor < this.log.nextSeq) return;
      // caught up: events of the next command can be taken as they come
      this.readLog = false;
    }
    if (this.pending !== null && this.cursor >= this.log.nextSeq) this.settle();
  }

  private send(e: SimEvent): boolean {
    this.cursor = e.seq + 1;
    if (this.sink.event(e)) return !this.done;
    if (!this.done) {
      this.paused = true;
      this.queue = [];
      this.readLog = true;
    }
    return false;
  }

  /** The old log is drained: tell the sink what happened to the instance. */
  private settle(): void {
    const p = this.pending;
    this.pending = null;
    if (p === null || this.done) return;
    if (p.kind === "deleted") {
      this.finish({
        kind: "deleted",
        error: new EngineError("INSTANCE_NOT_FOUND", `instance ${this.name} was deleted`, {
          name: this.name,
        }),
      });
      return;
    }
    this.unsubscribeLog();
    this.log = p.log;
    this.cursor = 1;
    this.strict = true;
    this.queue = [];
    this.readLog = true;
    this.unsubscribeLog = this.log.subscribe(this.collect);
    if (!this.sink.reset(this.cursor)) {
      this.close();
      return;
    }
    this.pump();
  }

  /**
   * The detail names the first lost seq, not a resume point: a client library may drop messages it
   * had received but not yet read when an error status arrives (grpc-js does), so only the client
   * knows where to resume: its last seq + 1 (the replay then starts at the oldest kept event).
   */
  private fellBehind(firstLost: number, oldest: number): void {
    this.finish({
      kind: "fellBehind",
      error: new EngineError(
        "LIMIT_EXCEEDED",
        `watcher fell behind: events from seq ${firstLost} were evicted from the event log (capacity ${this.log.capacity}) before they could be sent; watch again with since_seq = last seq received + 1 (the oldest kept is ${oldest})`,
        {
          limit: "eventLogCapacity",
          value: this.log.capacity,
          firstLostSeq: firstLost,
          oldestKeptSeq: oldest,
        },
      ),
    });
  }

  private finish(reason: FollowEnd): void {
    if (this.done) return;
    this.close();
    this.sink.end(reason);
  }

  /** Runs inside a registry announcement: a throw here would reach the command's caller. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      if (this.done) return;
      this.close();
      try {
        this.sink.end({ kind: "failed", error });
      } catch {
        // the sink failed twice: the follow is closed, nothing more can be told
      }
    }
  }
}

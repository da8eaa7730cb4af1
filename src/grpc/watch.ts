import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { EngineError, type EventLog, type SimEvent } from "../engine/index.js";
import type { Registry } from "../registry.js";
import { type GrpcError, grpcErrorOf, toGrpcError } from "./errors.js";
import { eventMessage, type ProtoObject } from "./mappers.js";

/** Trailer of a WatchEvents stream that ended OK because its instance was reset. */
export const STREAM_END_TRAILER = "memcg-sim-stream-end";

/** Events read from the log per step of a catch-up. */
const EVENTS_PER_PAGE = 256;

type WatchCall = grpc.ServerWritableStream<ProtoObject, ProtoObject>;

/**
 * One WatchEvents stream: replays the kept events with seq ≥ since_seq, then follows the log.
 *
 * Back-pressure: when `call.write` returns false the watch pauses and buffers nothing itself:
 * the instance's event log (a bounded ring, shared by every reader) already holds what was not
 * sent, so a paused watch costs only its cursor. On 'drain' it catches up from the log at its
 * cursor. If the log evicts the event at the cursor while paused (the reader is more than the
 * log's capacity behind), the stream is closed with RESOURCE_EXHAUSTED / LIMIT_EXCEEDED: dropping
 * silently would hand the reader a history with holes; it watches again from its last seq + 1.
 * A since_seq older than the oldest kept event is not an error: the replay starts at the oldest
 * kept one, as the JSON page does.
 */
export class EventWatch {
  private cursor: number;
  private paused = false;
  private done = false;
  /** A gap is tolerated only on the first read (an old since_seq); later it means events were lost. */
  private strict = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly call: WatchCall,
    private readonly registry: Registry,
    private readonly name: string,
    private readonly log: EventLog,
    sinceSeq: number,
    private readonly logger: Logger,
    private readonly onDone: (w: EventWatch) => void,
  ) {
    this.cursor = Math.max(1, sinceSeq);
  }

  start(): void {
    this.cleanups.push(this.log.subscribe((e) => this.guard(() => this.onEvent(e))));
    this.cleanups.push(
      this.registry.on((ev) => {
        if (ev.name !== this.name) return;
        if (ev.kind === "reset") this.guard(() => this.endReset());
        else if (ev.kind === "deleted")
          this.guard(() =>
            this.fail(
              new EngineError("INSTANCE_NOT_FOUND", `instance ${this.name} was deleted`, { name: this.name }),
            ),
          );
      }),
    );
    const onDrain = () => this.guard(() => this.resume());
    const onCancel = () => this.cleanup();
    this.call.on("drain", onDrain);
    this.call.on("cancelled", onCancel);
    this.call.on("close", onCancel);
    this.cleanups.push(() => {
      this.call.off("drain", onDrain);
      this.call.off("cancelled", onCancel);
      this.call.off("close", onCancel);
    });
    this.pump();
  }

  /** Ends the stream with an error status (server shutdown, deletion, a reader too far behind). */
  fail(err: EngineError): void {
    if (this.done) return;
    this.cleanup();
    this.call.emit("error", grpcErrorOf(err));
  }

  /**
   * Listener code runs inside the engine's command (the log notifies synchronously): it must
   * never throw there, or a transport bug would fail a simulation command.
   */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (this.done) return;
      const e: GrpcError = toGrpcError(err, this.logger, "WatchEvents");
      this.cleanup();
      this.call.emit("error", e);
    }
  }

  private onEvent(e: SimEvent): void {
    if (this.done) return;
    if (this.paused) {
      // the ring just evicted seq e.seq − capacity: is the next event this reader needs gone?
      if (e.seq - this.cursor >= this.log.capacity) this.fellBehind();
      return;
    }
    if (e.seq < this.cursor) return;
    if (e.seq === this.cursor) this.send(e);
    else this.pump();
  }

  private resume(): void {
    if (this.done) return;
    this.paused = false;
    this.pump();
  }

  /** Sends kept events from the cursor until the log is exhausted or the call pushes back. */
  private pump(): void {
    const maxRounds = Math.ceil(this.log.capacity / EVENTS_PER_PAGE) + 2;
    for (let round = 0; round < maxRounds && !this.paused && !this.done; round++) {
      const batch = this.log.since(this.cursor, EVENTS_PER_PAGE);
      const tolerateGap = !this.strict;
      this.strict = true;
      if (batch.length === 0) return;
      if (batch[0].seq > this.cursor && !tolerateGap) {
        this.fellBehind();
        return;
      }
      for (const e of batch) if (!this.send(e)) return;
    }
  }

  private send(e: SimEvent): boolean {
    this.cursor = e.seq + 1;
    if (this.call.write({ event: eventMessage(e) })) return true;
    this.paused = true;
    return false;
  }

  /**
   * The detail names the first lost seq, not a resume point: a client library may drop messages it
   * had received but not yet read when an error status arrives (grpc-js does), so only the client
   * knows where to resume: its last seq + 1 (the replay then starts at the oldest kept event).
   */
  private fellBehind(): void {
    const oldest = this.log.since(0, 1)[0]?.seq ?? this.log.nextSeq;
    this.fail(
      new EngineError(
        "LIMIT_EXCEEDED",
        `watcher fell behind: events from seq ${this.cursor} were evicted from the event log (capacity ${this.log.capacity}) before they could be sent; watch again with since_seq = last seq received + 1 (the oldest kept is ${oldest})`,
        {
          limit: "eventLogCapacity",
          value: this.log.capacity,
          firstLostSeq: this.cursor,
          oldestKeptSeq: oldest,
        },
      ),
    );
  }

  /** A reset restarts sequence numbers at 1: following the new log would look like time going backwards. */
  private endReset(): void {
    if (this.done) return;
    this.cleanup();
    const trailer = new grpc.Metadata();
    trailer.set(STREAM_END_TRAILER, "instance-reset");
    this.call.end(trailer);
  }

  private cleanup(): void {
    if (this.done) return;
    this.done = true;
    for (const c of this.cleanups.splice(0)) c();
    this.onDone(this);
  }
}

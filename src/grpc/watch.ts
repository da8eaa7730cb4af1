import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import type { EngineError } from "../engine/index.js";
import type { EventFollower, FollowEnd, Service } from "../service/index.js";
import { grpcErrorOf, toGrpcError } from "./errors.js";
import { eventMessage, type ProtoObject } from "./mappers.js";

/** Trailer of a WatchEvents stream that ended OK because its instance was reset. */
export const STREAM_END_TRAILER = "memcg-sim-stream-end";

type WatchCall = grpc.ServerWritableStream<ProtoObject, ProtoObject>;

/**
 * One WatchEvents stream: the gRPC rendering of the service layer's event-log follower
 * (src/service/follower.ts, shared with SSE), which replays the kept events with seq ≥ since_seq,
 * then follows the log.
 *
 * Back-pressure: when `call.write` returns false the follower pauses and buffers nothing; on
 * 'drain' it catches up from the log at its cursor. A reader more than the log's capacity behind
 * ends RESOURCE_EXHAUSTED / LIMIT_EXCEEDED (it watches again from its last seq + 1). A reset ends
 * the stream OK with the trailer `memcg-sim-stream-end: instance-reset` once every event of the
 * old log was sent (WatchEvent has no reset message: sequence numbers going back to 1 inside one
 * stream would look like time going backwards); a deletion ends it NOT_FOUND.
 */
export class EventWatch {
  private follower: EventFollower | null = null;
  private done = false;
  private readonly cleanups: (() => void)[] = [];

  constructor(
    private readonly call: WatchCall,
    private readonly logger: Logger,
    private readonly onDone: (w: EventWatch) => void,
  ) {}

  /** Throws INSTANCE_NOT_FOUND / LIMIT_EXCEEDED (`maxWatchers`) before anything is sent. */
  start(service: Service, name: string, sinceSeq: number): void {
    this.follower = service.follow(name, sinceSeq, {
      event: (e) => this.call.write({ event: eventMessage(e) }),
      reset: () => {
        this.endReset();
        return false;
      },
      end: (reason) => this.onEnd(reason),
    });
    const onDrain = () => this.follower?.resume();
    const onCancel = () => this.cleanup();
    this.call.on("drain", onDrain);
    this.call.on("cancelled", onCancel);
    this.call.on("close", onCancel);
    this.cleanups.push(() => {
      this.call.off("drain", onDrain);
      this.call.off("cancelled", onCancel);
      this.call.off("close", onCancel);
    });
    this.follower.start();
  }

  /** Ends the stream with an error status (server shutdown). */
  fail(err: EngineError): void {
    if (this.done) return;
    this.cleanup();
    this.call.emit("error", grpcErrorOf(err));
  }

  private onEnd(reason: FollowEnd): void {
    if (this.done) return;
    this.cleanup();
    this.call.emit(
      "error",
      reason.kind === "failed"
        ? toGrpcError(reason.error, this.logger, "WatchEvents")
        : grpcErrorOf(reason.error),
    );
  }

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
    this.follower?.close();
    for (const c of this.cleanups.splice(0)) c();
    this.onDone(this);
  }
}

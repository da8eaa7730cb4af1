import { createReadStream } from "node:fs";
import { parentPort } from "node:worker_threads";
import { type ReadProgress, readTraceBytes, TraceInputError } from "./input.js";
import { ByteParser, newEvent } from "./parse.js";
import {
  type AckRequest,
  type BatchMessage,
  type ErrorMessage,
  type EndMessage,
  MAX_IN_FLIGHT,
  RecordEncoder,
  type StartRequest,
} from "./records.js";

// The trace parsing thread (records.ts readTraceThreaded): reads, gunzips, splits and parses the
// trace as the single-thread replay does (readTraceBytes, ByteParser) and sends the lines as
// batches of records; it holds the reading while MAX_IN_FLIGHT batches are not back. One trace per
// thread.

const port = parentPort;
if (port !== null) {
  const free: { f64: ArrayBuffer; i32: ArrayBuffer }[] = [];
  let inFlight = 0;
  let wake: (() => void) | null = null;
  const run = async (req: StartRequest) => {
    // a string table per trace (the main thread's starts empty with each read)
    const encoder = new RecordEncoder(
      (m: BatchMessage, transfer) => {
        inFlight++;
        port.postMessage(m, transfer);
      },
      () => free.pop(),
    );
    const ev = newEvent();
    const parser = new ByteParser();
    const progress: ReadProgress = { bytesIn: 0, lines: 0 };
    try {
      const total = await readTraceBytes(
        createReadStream(req.path, { highWaterMark: 64 * 1024 }),
        req.gzip,
        (buf, s, e, lineNo) => encoder.push(ev, parser.parse(buf, s, e, ev), lineNo, progress.bytesIn),
        progress,
        () =>
          inFlight < MAX_IN_FLIGHT
            ? undefined
            : new Promise<void>((resolve) => {
                wake = resolve;
              }),
      );
      encoder.flush(progress.bytesIn);
      const end: EndMessage = { kind: "end", total };
      port.postMessage(end);
    } catch (err) {
      // the lines before the error first, as the single-thread replay applies them
      encoder.flush(progress.bytesIn);
      const e = err as Error & { code?: unknown };
      const msg: ErrorMessage = {
        kind: "error",
        error:
          e instanceof TraceInputError
            ? { trace: true, code: e.code, message: e.message, details: e.details }
            : {
                trace: false,
                code: typeof e.code === "string" ? e.code : undefined,
                message: String(e?.message ?? e),
                details: {},
              },
      };
      port.postMessage(msg);
    }
  };
  port.on("message", (m: StartRequest | AckRequest) => {
    if (m.kind === "start") void run(m);
    else {
      inFlight--;
      free.push({ f64: m.f64, i32: m.i32 });
      if (wake !== null && inFlight < MAX_IN_FLIGHT) {
        const w = wake;
        wake = null;
        w();
      }
    }
  });
}

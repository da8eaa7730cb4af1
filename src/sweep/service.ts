import { z } from "zod";
import { issuesOf } from "../commands/schemas.js";
import { EngineError, fail, DEFAULT_LIMITS, type EngineLimits } from "../engine/index.js";
import { SweepPool } from "./pool.js";
import { runSweep } from "./run.js";
import { checkSweepSpec, type SweepSpec } from "./spec.js";

/** The server's bounds on sweeps (ARCHITECTURE.md habit 4): each hit is 429 LIMIT_EXCEEDED. */
export interface SweepServiceLimits {
  /** Points in one sweep. */
  maxSweepPoints: number;
  /** Sweeps queued or running at once. */
  maxActiveSweeps: number;
  /** Finished sweeps kept for download; the oldest finished one goes first. */
  maxKeptSweeps: number;
  /** Commands one point's scenario may expand to (as `POST /v1/compare`). */
  maxCommandsPerPoint: number;
  /** Worker threads of the server's pool, shared by every sweep. */
  workers: number;
  /**
   * Entries of the spec's scenario `commands` (generators make large workloads from short
   * documents): the spec is checked on the event loop, once per axis value.
   */
  maxScenarioSteps: number;
}

export const DEFAULT_SWEEP_SERVICE_LIMITS: SweepServiceLimits = {
  maxSweepPoints: 2_000,
  maxActiveSweeps: 2,
  maxKeptSweeps: 16,
  maxCommandsPerPoint: 1_000_000,
  workers: 2,
  maxScenarioSteps: 10_000,
};

/** `POST /v1/sweeps` body: a sweep spec whose scenario is the document itself (no file names). */
export const startSweepBodySchema = z.object({ spec: z.record(z.string(), z.unknown()) }).strict();

export type SweepState = "running" | "done" | "failed";

/** What `GET /v1/sweeps/{id}` answers: progress while running, then done or failed. */
export interface SweepStatus {
  id: string;
  state: SweepState;
  digest: string;
  pointCount: number;
  pointsDone: number;
  /** The failing point's error (`failed` only). */
  error: { code: string; detail: string } | null;
}

interface Job {
  status: SweepStatus;
  lines: string[];
}

/**
 * Sweeps run by the server on its own worker threads (not on the event loop, not on the registry's
 * instances). `start` checks the spec and the limits and returns at once; the sweep goes on in the
 * background; `status` reports progress; `results` gives results.jsonl once done (the same bytes
 * `memcg-sim sweep` writes for the same spec).
 */
export class SweepService {
  private readonly jobs = new Map<string, Job>();
  private pool: SweepPool | null = null;
  private next = 1;
  private closed = false;

  constructor(
    readonly limits: SweepServiceLimits = DEFAULT_SWEEP_SERVICE_LIMITS,
    private readonly engine: EngineLimits = DEFAULT_LIMITS,
    /** Told of a sweep that failed with an internal error (a bug: logged, never sent to the client). */
    private readonly onInternalError: (err: unknown) => void = () => {},
  ) {}

  /** Validates `body` (400 INVALID_ARGUMENT) and the limits (429), then starts the sweep. */
  start(body: unknown): SweepStatus {
    const parsed = startSweepBodySchema.safeParse(body);
    if (!parsed.success) {
      const issues = issuesOf(parsed.error);
      fail(
        "INVALID_ARGUMENT",
        `invalid sweep request: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
        {
          issues,
        },
      );
    }
    const steps = (parsed.data.spec.scenario as { commands?: unknown } | undefined)?.commands;
    if (Array.isArray(steps) && steps.length > this.limits.maxScenarioSteps)
      fail(
        "LIMIT_EXCEEDED",
        `the sweep's scenario has ${steps.length} commands, more than the ${this.limits.maxScenarioSteps} allowed`,
        { limit: "maxScenarioSteps", value: this.limits.maxScenarioSteps },
      );
    let spec: SweepSpec;
    try {
      spec = checkSweepSpec(parsed.data.spec, this.limits.maxSweepPoints);
    } catch (e) {
      if (e instanceof EngineError && Array.isArray(e.details?.issues)) {
        const issues = (e.details.issues as { path: string; message: string }[]).map((i) => ({
          path: `spec.${i.path}`,
          message: i.message,
        }));
        throw new EngineError(e.code, e.message, { ...e.details, issues });
      }
      throw e;
    }
    const active = [...this.jobs.values()].filter((j) => j.status.state === "running").length;
    if (active >= this.limits.maxActiveSweeps)
      fail("LIMIT_EXCEEDED", `${active} sweeps are running, the server's limit; try again when one is done`, {
        limit: "maxActiveSweeps",
        value: this.limits.maxActiveSweeps,
      });
    if (this.closed) fail("NOT_READY", "server shutting down");
    this.evictFinished();
    const id = `sweep-${this.next++}`;
    const job: Job = {
      status: {
        id,
        state: "running",
        digest: spec.digest,
        pointCount: spec.pointCount,
        pointsDone: 0,
        error: null,
      },
      lines: [],
    };
    this.jobs.set(id, job);
    this.pool ??= new SweepPool(this.limits.workers);
    runSweep(spec, {
      pool: this.pool,
      limits: { maxCommands: this.limits.maxCommandsPerPoint, engine: this.engine },
      onResult: (_index, line) => {
        job.lines.push(line);
        job.status.pointsDone++;
      },
    }).then(
      () => {
        job.status.state = "done";
      },
      (e: unknown) => {
        job.status.state = "failed";
        // a point's request error (a limit) is the client's; anything else is reported, never thrown
        if (!(e instanceof EngineError) && !this.closed) this.onInternalError(e);
        job.status.error =
          e instanceof EngineError
            ? { code: e.code, detail: e.message }
            : {
                code: "INTERNAL",
                detail: this.closed ? "server shutting down" : "internal error in a sweep worker",
              };
      },
    );
    return { ...job.status };
  }

  private evictFinished(): void {
    const finished = [...this.jobs.values()].filter((j) => j.status.state !== "running");
    for (const j of finished.slice(0, Math.max(0, finished.length - this.limits.maxKeptSweeps + 1)))
      this.jobs.delete(j.status.id);
  }

  private job(id: string): Job {
    const job = this.jobs.get(id);
    if (job === undefined) fail("NOT_FOUND", `no sweep ${JSON.stringify(id)}`);
    return job;
  }

  status(id: string): SweepStatus {
    return { ...this.job(id).status };
  }

  list(): SweepStatus[] {
    return [...this.jobs.values()].map((j) => ({ ...j.status }));
  }

  /** results.jsonl of a finished sweep; 409 EAGAIN while it runs, its error once failed. */
  results(id: string): string {
    const job = this.job(id);
    if (job.status.state === "running")
      fail(
        "EAGAIN",
        `sweep ${id} is running (${job.status.pointsDone}/${job.status.pointCount} points); its results are downloadable when it is done`,
      );
    if (job.status.state === "failed" && job.status.error !== null)
      throw new EngineError(
        "EAGAIN",
        `sweep ${id} failed: ${job.status.error.code}: ${job.status.error.detail}`,
      );
    return job.lines.join("");
  }

  /** Ends the worker threads; running sweeps end failed. */
  async close(): Promise<void> {
    this.closed = true;
    await this.pool?.close();
    this.pool = null;
  }
}

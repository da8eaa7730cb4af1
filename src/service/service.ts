import type { Command } from "../engine/index.js";
import type { ExportDoc } from "../persistence/index.js";
import { Persistence } from "../persistence/index.js";
import type { Entry, Registry } from "../registry.js";
import { type ApiAuth, authOf, tokenMatcher } from "./auth.js";
import { EventFollower, type FollowSink } from "./follower.js";
import type { Transfer } from "./transfer.js";

export interface ServiceOptions {
  registry: Registry;
  /** Commits queued journal writes now (export reads the journal); default: nothing to commit. */
  flush?: () => void;
  /** Resolves when everything applied so far is durable (the group commit); default: `flush()` now. */
  durable?: () => Promise<void>;
  /**
   * Export/import over the persistence's command log; default: an in-memory log attached to the
   * registry now (it can export instances created from now on), closed by `close()`.
   */
  transfer?: Transfer;
  /** `MEMCG_SIM_API_TOKEN`: when set, every call but the open ones needs `Bearer <token>`. */
  apiToken?: string | null;
}

/**
 * What both transports share below their adapters (docs/ARCHITECTURE.md, "Transports"): the
 * group commit (acknowledged ⇒ durable), the API token, export/import and the event-log follower.
 * REST (src/rest) and gRPC (src/grpc) only map their wire form to these calls and back.
 */
export class Service {
  readonly registry: Registry;
  readonly auth: ApiAuth | null;
  /** Whether an `authorization` value carries the token (always true when none is set). */
  readonly authorized: (authorization: unknown) => boolean;
  private readonly transfer: Transfer;
  private readonly ownTransfer: Persistence | null = null;
  private readonly flushFn: () => void;
  private readonly durableFn: () => Promise<void>;

  constructor(opts: ServiceOptions) {
    this.registry = opts.registry;
    this.auth = authOf(opts.apiToken);
    this.authorized = this.auth === null ? () => true : tokenMatcher(this.auth.token);
    const flush = opts.flush ?? (() => {});
    this.flushFn = flush;
    this.durableFn = opts.durable ?? (async () => flush());
    if (opts.transfer === undefined) {
      const own = new Persistence({ dataDir: null });
      own.attach(this.registry);
      this.ownTransfer = own;
      this.transfer = own;
    } else this.transfer = opts.transfer;
  }

  /** Commits queued journal writes now. */
  flush(): void {
    this.flushFn();
  }

  /**
   * Resolves once every mutation applied so far is durable: requests of one event-loop turn share
   * one commit (acknowledged ⇒ durable).
   */
  durable(): Promise<void> {
    return this.durableFn();
  }

  /**
   * Runs one mutation and resolves with its result once it is durable. A refusal is answered once
   * durable too: a refusal that already reclaimed (a historic refusal) is journaled.
   */
  async commit<T>(mutation: () => T): Promise<T> {
    try {
      return mutation();
    } finally {
      await this.durableFn();
    }
  }

  /** One command through the registry, answered once durable. */
  execute(instance: string, command: Command): Promise<unknown> {
    return this.commit(() => this.registry.execute(instance, command));
  }

  /** The export document (config + accepted commands); the journal is committed first (export reads it). */
  exportInstance(name: string): ExportDoc {
    this.flushFn();
    return this.transfer.exportInstance(this.registry, name);
  }

  /** Imports a document (validated whole, atomic) as a new instance; a mutation: run it in `commit`. */
  importInstance(doc: unknown, name: string | undefined): Entry {
    return this.transfer.importInstance(this.registry, doc, {
      name,
      maxCommands: this.registry.limits.maxImportCommands,
    });
  }

  /**
   * Follows the event log of `instance` from `fromSeq` (src/service/follower.ts). Throws
   * INSTANCE_NOT_FOUND, then LIMIT_EXCEEDED (`maxWatchers`), before anything is delivered; call
   * `start()` on the result once the transport is ready to write.
   */
  follow(instance: string, fromSeq: number, sink: FollowSink): EventFollower {
    return new EventFollower(this.registry, instance, fromSeq, sink);
  }

  /** Closes what the service made itself (the in-memory export log). */
  close(): void {
    this.ownTransfer?.close();
  }
}

import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Command } from "../engine/index.js";
import type { Registry } from "../registry.js";
import type { Service } from "../service/index.js";

/** The fastify instance as routes see it: zod schemas type the request. */
export type ZodApp = FastifyInstance<
  RawServerDefault,
  IncomingMessage,
  ServerResponse,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** What every route module is given (everything passed in, nothing global: tests build many apps). */
export interface RouteContext {
  registry: Registry;
  /** The service layer both transports share (group commit, auth, export/import, event follower). */
  service: Service;
  /** Runs one accepted mutation and resolves once it is durable (persistence group commit). */
  mutate(instance: string, command: Command): Promise<unknown>;
  /** Commits queued journal writes now (export reads the journal). */
  flush(): void;
  /**
   * Resolves once every mutation applied so far is durable: requests of one event-loop turn share
   * one commit (acknowledged ⇒ durable). After create/delete/reset, batch and import.
   */
  durable(): Promise<void>;
}

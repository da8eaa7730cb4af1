import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyInstance, RawServerDefault } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Command } from "../engine/commands.js";
import type { Registry } from "../registry.js";

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
  /** Runs one accepted mutation and makes it durable before the reply (persistence group commit). */
  mutate(instance: string, command: Command): unknown;
  /** Called after a mutation that did not go through `mutate` (create/delete/reset, batch). */
  flush(): void;
}

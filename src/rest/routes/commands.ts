import { z } from "zod";
import { COMMAND_OPERATIONS, type CommandOperation } from "../../commands/operations.js";
import { parseCommand } from "../../commands/schemas.js";
import type { Command } from "../../engine/index.js";
import type { BodyConfig } from "../content-type.js";
import type { RouteContext, ZodApp } from "../context.js";
import {
  cacheParams,
  cgroupPathOf,
  fsTargetOf,
  instanceParams,
  pidParams,
  wildcardParams,
} from "../paths.js";

const PARAMS = {
  none: instanceParams,
  cgroupPath: wildcardParams,
  cacheName: cacheParams,
  pid: pidParams,
  fsFile: wildcardParams,
} as const;

const textBody = z.string();

type Params = { name: string; "*"?: string; cache?: string; pid?: number };

/** The command a request names: its target from the URL, the rest from the body. */
function commandOf(row: CommandOperation, params: Params, body: unknown): Command {
  const fields = (row.body === null ? {} : body) as Record<string, unknown>;
  switch (row.rest.target) {
    case "none":
      return { op: row.op, ...fields } as Command;
    case "cgroupPath":
      return { op: row.op, path: cgroupPathOf(params["*"] as string), ...fields } as Command;
    case "cacheName":
      return { op: row.op, name: params.cache, ...fields } as Command;
    case "pid":
      return { op: row.op, pid: params.pid, ...fields } as Command;
    case "fsFile": {
      const { cgroup, file } = fsTargetOf(params["*"] as string);
      // `echo body > file` (trimmed, as the kernel ignores the newline echo adds); through the
      // command schema, so the value's length limit is the one batches and scenarios have
      return parseCommand({ op: row.op, cgroup, file, value: (body as string).trim() });
    }
  }
}

/**
 * docs/API.md §4–§7: one REST route per row of the operation table (src/commands/operations.ts),
 * each answered once the command is durable. A simulated failure is a 200 result.
 */
export function commandRoutes(app: ZodApp, ctx: RouteContext): void {
  for (const row of COMMAND_OPERATIONS) {
    const { method, path, status, target } = row.rest;
    const body = target === "fsFile" ? textBody : row.body;
    const config: BodyConfig | undefined = target === "fsFile" ? { textBody: true } : undefined;
    app.route({
      method,
      url: path,
      config,
      schema: body === null ? { params: PARAMS[target] } : { params: PARAMS[target], body },
      handler: async (req, reply) => {
        const params = req.params as Params;
        const result = await ctx.mutate(params.name, commandOf(row, params, req.body));
        if (status === 204) return reply.code(204).send();
        if (status === 201) return reply.code(201).send(result);
        return result;
      },
    });
  }
}

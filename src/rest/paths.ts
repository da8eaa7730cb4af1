import { z } from "zod";
import { fail } from "../engine/index.js";

/** Route params shared by the resource routes. Names are validated where they are looked up. */
export const instanceParams = z.object({ name: z.string() }).strict();
export const wildcardParams = z.object({ name: z.string(), "*": z.string() }).strict();
export const cacheParams = z.object({ name: z.string(), cache: z.string() }).strict();
export const pidParams = z
  .object({ name: z.string(), pid: z.coerce.number().int().min(1).max(4194304) })
  .strict();

/** `/cgroups/{path}` → the cgroup path: the wildcard is the path without its leading slash; "" is the root. */
export function cgroupPathOf(wildcard: string): string {
  return `/${wildcard}`;
}

/**
 * `/fs/{cgroup path}/{file}` → cgroup + file: the last segment is the file, the rest the cgroup
 * (`/fs/memory.stat` is the root's). A path with no file names no file: ENOENT, as `cat dir/`.
 */
export function fsTargetOf(wildcard: string): { cgroup: string; file: string } {
  const slash = wildcard.lastIndexOf("/");
  const file = wildcard.slice(slash + 1);
  if (file === "") fail("ENOENT", `no file named in "/${wildcard}"`, { path: `/${wildcard}` });
  return { cgroup: slash < 0 ? "/" : `/${wildcard.slice(0, slash)}`, file };
}

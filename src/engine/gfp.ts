import { fail } from "./errors.js";

/**
 * gfp flags as the charge path reads them (docs/DOMAIN.md §4.1, §4.3). Only the bits that change a
 * memcg charge decision are modelled.
 */
export const GFP_DIRECT_RECLAIM = 1 << 0; // can block and reclaim (__GFP_DIRECT_RECLAIM / 3.x __GFP_WAIT)
export const GFP_HIGH = 1 << 1; // __GFP_HIGH: may dip into reserves; forced over the memcg limit in 4.x+
export const GFP_NOFAIL = 1 << 2;
export const GFP_NORETRY = 1 << 3;
export const GFP_RETRY_MAYFAIL = 1 << 4;
export const GFP_ACCOUNT = 1 << 5;
export const GFP_ATOMIC_CONTEXT = 1 << 6; // GFP_ATOMIC: interrupt/atomic context (3.8 bypass rule)

const NAMED: Record<string, number> = {
  GFP_KERNEL: GFP_DIRECT_RECLAIM,
  GFP_KERNEL_ACCOUNT: GFP_DIRECT_RECLAIM | GFP_ACCOUNT,
  GFP_NOWAIT: 0,
  GFP_ATOMIC: GFP_HIGH | GFP_ATOMIC_CONTEXT,
  __GFP_NOFAIL: GFP_NOFAIL,
  __GFP_NORETRY: GFP_NORETRY,
  __GFP_RETRY_MAYFAIL: GFP_RETRY_MAYFAIL,
  __GFP_ACCOUNT: GFP_ACCOUNT,
  __GFP_HIGH: GFP_HIGH,
};

export const GFP_NAMES = Object.keys(NAMED);

/**
 * Parses a kernel-style `|`-joined flag string ("GFP_KERNEL|__GFP_NOFAIL"). Exactly one base
 * (`GFP_KERNEL`, `GFP_KERNEL_ACCOUNT`, `GFP_NOWAIT`, `GFP_ATOMIC`) is required; modifiers may be
 * repeated harmlessly. Throws INVALID_ARGUMENT on anything else.
 */
const parsed = new Map<string, number>();

export function parseGfp(text: string | undefined): number {
  if (text === undefined) return NAMED.GFP_KERNEL;
  // a pure function of the text: strings seen before (a trace replay sends the same few per
  // command) are answered from a bounded memo
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const mask = parseGfpText(text);
  if (parsed.size < 256) parsed.set(text, mask);
  return mask;
}

function parseGfpText(text: string): number {
  const parts = text.split("|").map((p) => p.trim());
  let bases = 0;
  let mask = 0;
  for (const p of parts) {
    const v = Object.hasOwn(NAMED, p) ? NAMED[p] : undefined;
    if (v === undefined) fail("INVALID_ARGUMENT", `unknown gfp flag "${p}"`, { gfp: text });
    if (!p.startsWith("__")) bases++;
    mask |= v;
  }
  if (bases !== 1)
    fail(
      "INVALID_ARGUMENT",
      `gfp "${text}" must name exactly one of GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_NOWAIT, GFP_ATOMIC`,
    );
  return mask;
}

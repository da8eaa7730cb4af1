import { fail } from "../errors.js";

/** `PAGE_COUNTER_MAX` = LONG_MAX / PAGE_SIZE pages; prints as 9223372036854771712 in v1 files. */
export const PAGE_COUNTER_MAX = 2251799813685247;
export const PAGE_COUNTER_MAX_BYTES_TEXT = "9223372036854771712";
/** `RES_COUNTER_MAX` = LLONG_MAX bytes (≤ 3.18). */
export const RES_COUNTER_MAX_TEXT = "9223372036854775807";
const LLONG_MAX = 9223372036854775807n;

/**
 * The kernel's `memparse`: `simple_strtoull(s, &end, 0)` (so `0x` is hex and a leading 0 octal)
 * then an optional K/M/G/T/P/E suffix (binary multiples). The whole string must be consumed.
 * Throws EINVAL on garbage.
 */
export function memparse(text: string): bigint {
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([kKmMgGtTpPeE]?)$/.exec(text);
  if (m === null) fail("EINVAL", `invalid size "${text}"`);
  const digits = m[1];
  let v: bigint;
  if (/^0[xX]/.test(digits)) v = BigInt(digits);
  else if (digits.length > 1 && digits.startsWith("0")) v = BigInt(`0o${digits.slice(1)}`);
  else v = BigInt(digits);
  const shift = { "": 0n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n, e: 60n }[m[2].toLowerCase() as "" | "k"]!;
  v <<= shift;
  if (v >= 1n << 64n) v &= (1n << 64n) - 1n; // unsigned long long wraps
  return v;
}

/**
 * A limit as the era's counter parses it (docs/DOMAIN.md §2.1, §2.2), in pages, Infinity for unlimited:
 * `res_counter` (rfc-2012, v3.8) takes "-1" or memparse rounded UP to a page;
 * `page_counter` (v4.5, v5.9) takes `maxText` ("-1" in v1, "max" in v2) or memparse rounded DOWN.
 */
export function parseLimitPages(text: string, resCounter: boolean, maxText: string): number {
  if (text === maxText) return Number.POSITIVE_INFINITY;
  const bytes = memparse(text);
  if (resCounter) {
    const aligned = (bytes + 4095n) & ~4095n;
    if (aligned >= LLONG_MAX) return Number.POSITIVE_INFINITY;
    return Number(aligned / 4096n);
  }
  const p = bytes / 4096n;
  return p >= BigInt(PAGE_COUNTER_MAX) ? Number.POSITIVE_INFINITY : Number(p);
}

/** A limit in pages as a v1 file prints it. */
export function v1LimitText(pages: number, resCounter: boolean): string {
  if (pages === Number.POSITIVE_INFINITY)
    return resCounter ? RES_COUNTER_MAX_TEXT : PAGE_COUNTER_MAX_BYTES_TEXT;
  return String(BigInt(pages) * 4096n);
}

/** A v2 tunable: bytes or "max". */
export function v2LimitText(pages: number): string {
  // BigInt: a limit near PAGE_COUNTER_MAX pages is past 2^53 bytes, where a double would round
  return pages === Number.POSITIVE_INFINITY ? "max" : String(BigInt(pages) * 4096n);
}

/** A decimal integer file write (`kstrtoull`/`kstrtoint`); EINVAL otherwise. */
export function parseUint(text: string): number {
  if (!/^[0-9]+$/.test(text)) fail("EINVAL", `invalid number "${text}"`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) fail("EINVAL", `number out of range "${text}"`);
  return v;
}

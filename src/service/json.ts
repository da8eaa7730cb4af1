/**
 * The JSON representation of integers (docs/API.md, "Integers above 2^53 − 1").
 *
 * Byte counts and limits are 64-bit in the kernel (`page_counter` pages × PAGE_SIZE, `res_counter`
 * bytes up to 2^63 − 1). The engine holds them as doubles, which represent every value the
 * kernel can show here exactly (multiples of 4096 up to 2^63, and the wrap values memparse
 * produces), but `JSON.stringify` prints the *shortest* decimal that reads back as the same double:
 * 200376420520689664 becomes 200376420520689660, which a reader taking the digits at face value
 * (jq, Python's int, a Go int64) gets wrong, and which is above an `integer` schema's safe range.
 *
 * So: an integer n with |n| ≤ 2^53 − 1 (Number.MAX_SAFE_INTEGER) is a JSON number, as always; a
 * larger one is a JSON string holding its exact decimal digits (`"200376420520689664"`), the
 * protobuf JSON mapping's form for int64. Every answer that was a number stays one: only values
 * that were already printed inexactly change form. Readers: accept integer or decimal string.
 */

const SAFE = Number.MAX_SAFE_INTEGER;

function exact(_key: string, value: unknown): unknown {
  if (typeof value === "number" && (value > SAFE || value < -SAFE) && Number.isInteger(value))
    return BigInt(value).toString();
  return value;
}

/**
 * JSON.stringify with integers beyond 2^53 − 1 as exact decimal strings. Fast path: such an
 * integer always prints with at least 16 digits in a row or an exponent (`1e+21`), so text without
 * either is already exact and is returned as is (no replacer on the hot path).
 */
export function stringifyExact(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return text as unknown as string;
  if (!/\d{16}|\de\+/.test(text)) return text;
  return JSON.stringify(value, exact);
}

/** The schema fragment for such a field (openapi): an integer, or its exact decimal string above 2^53 − 1. */
export const EXACT_INTEGER_DESCRIPTION =
  "An integer; above 2^53 − 1 (9007199254740991) it is a string holding the exact decimal digits (docs/API.md, Integers above 2^53 − 1).";

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Every reference in the tree resolves inside the tree (issue #18, item 5): a fresh clone has no
 * design notes beside it, so
 * - a section reference `docs/DOMAIN.md §5.1` / `docs/API.md §3` / `docs/ARCHITECTURE.md §1`
 *   names a heading that exists in that file (in docs/*.md the same without `docs/`);
 * - outside docs/ such a reference spells the path (`docs/DOMAIN.md`), never a bare `DOMAIN §`;
 * - no file points at the design notes or recordings outside the repository;
 * - every relative Markdown link names a file or folder that exists.
 */
const ROOT = join(import.meta.dirname, "..", "..");
const SCAN = [
  "README.md",
  "Dockerfile",
  "openapi.yaml",
  ".ci",
  "bench",
  "docker",
  "docs",
  "examples",
  "proto",
  "scripts",
  "src",
  "test",
];
const TEXT = /\.(ts|mts|mjs|js|md|proto|ya?ml|json|py|sh)$|^(Dockerfile|run)$/;

function walk(path: string, out: string[]): string[] {
  if (!existsSync(path)) return out;
  if (statSync(path).isDirectory()) {
    for (const name of readdirSync(path))
      if (name !== "node_modules" && name !== "fixtures") walk(join(path, name), out);
  } else if (TEXT.test(path.split("/").pop() ?? "")) out.push(path);
  return out;
}
// this file spells broken references on purpose (the self-test below)
const files = SCAN.flatMap((p) => walk(join(ROOT, p), [])).filter((f) => f !== import.meta.filename);

const headingsOf = new Map<string, Set<string>>();
function headings(doc: string): Set<string> {
  let set = headingsOf.get(doc);
  if (set === undefined) {
    set = new Set();
    const path = join(ROOT, "docs", `${doc}.md`);
    if (existsSync(path))
      for (const m of readFileSync(path, "utf8").matchAll(/^#{2,4} (\d+(?:\.\d+)*)\.?\s/gm)) set.add(m[1]);
    headingsOf.set(doc, set);
  }
  return set;
}

/** `file:line: problem` for every broken reference in `text`. */
function referenceProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const rel = relative(ROOT, file);
  const inDocs = rel.startsWith("docs/");
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    const at = `${rel}:${i + 1}`;
    for (const m of line.matchAll(
      /(docs\/|\[|\b)(DOMAIN|API|ARCHITECTURE)(\.md)?(\]\([^)]*\))? ?§ ?(\d+(?:\.\d+)*)/g,
    )) {
      const [, prefix, doc, ext, , section] = m;
      if (ext === undefined)
        problems.push(`${at}: "${m[0]}" does not name a file (write docs/${doc}.md §${section})`);
      else if (!inDocs && prefix !== "docs/")
        problems.push(`${at}: "${m[0]}" outside docs/ must spell docs/${doc}.md`);
      if (!headings(doc).has(section))
        problems.push(`${at}: "${m[0]}": docs/${doc}.md has no section ${section}`);
    }
    if (
      /shared\/design|shared\/kernel-traces|\.\.\/shared\/|\bTOOLCHAIN\b|FIDELITY-AUDIT|STYLE-ANCHORS/.test(
        line,
      )
    )
      problems.push(`${at}: points outside the repository: ${line.trim().slice(0, 120)}`);
    if (file.endsWith(".md"))
      for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1].split("#")[0];
        if (target === "" || /^[a-z]+:/.test(target)) continue;
        const resolved = join(dirname(file), target);
        if (!resolved.startsWith(`${ROOT}/`) || !existsSync(resolved))
          problems.push(`${at}: link to ${m[1]}, which does not exist in the repository`);
      }
  });
  return problems;
}

describe("references in the tree", () => {
  it("finds the files and the moved documents", () => {
    expect(files.length).toBeGreaterThan(200);
    for (const doc of ["DOMAIN", "API", "ARCHITECTURE"]) expect(headings(doc).size).toBeGreaterThan(3);
    expect(headings("DOMAIN").has("5.1")).toBe(true);
    expect(headings("API").has("10")).toBe(true);
  });

  it("flags a dangling section, a bare reference, a path outside the clone and a dead link", () => {
    const md = join(ROOT, "docs", "X.md");
    expect(referenceProblems(md, "see [DOMAIN.md](DOMAIN.md) §5.1 and DOMAIN.md §99")).toEqual([
      'docs/X.md:1: "DOMAIN.md §99": docs/DOMAIN.md has no section 99',
    ]);
    expect(
      referenceProblems(join(ROOT, "src", "x.ts"), "// (DOMAIN §5.1)\n// docs/API.md §3\n// API.md §3"),
    ).toEqual([
      'src/x.ts:1: "DOMAIN §5.1" does not name a file (write docs/DOMAIN.md §5.1)',
      'src/x.ts:3: "API.md §3" outside docs/ must spell docs/API.md',
    ]);
    expect(
      referenceProblems(
        md,
        "[a](../../shared/design/API.md) [b](REST.md) [c](nope.md#x) [d](https://x.org/a)",
      ),
    ).toEqual([
      "docs/X.md:1: points outside the repository: [a](../../shared/design/API.md) [b](REST.md) [c](nope.md#x) [d](https://x.org/a)",
      "docs/X.md:1: link to ../../shared/design/API.md, which does not exist in the repository",
      "docs/X.md:1: link to nope.md#x, which does not exist in the repository",
    ]);
  });

  it("has no dangling §-reference, no reference outside the repository and no dead relative link", () => {
    const problems = files.flatMap((f) => referenceProblems(f, readFileSync(f, "utf8")));
    expect(problems).toEqual([]);
  });
});

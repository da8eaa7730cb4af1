import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { compareScenario } from "../../src/compare/compare.js";
import { renderReport } from "../../src/compare/report.js";
import { loadScenarioFile } from "../../src/scenarios/load.js";

/**
 * The compare report as a browser draws it (issue #18, item 4): Debian's chromium, headless, lays
 * out the real report; a script added to a copy measures every SVG text box. Legends must fit
 * inside their chart and no two texts of a chart may overlap; the report itself gets a PNG
 * screenshot (kept at $MEMCG_SIM_REPORT_PNG when set, for a person to look at).
 * Needs Debian's `chromium` (`.ci/run` installs it).
 */
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = spawnSync(CHROMIUM, ["--version"], { encoding: "utf8", timeout: 30_000 }).status === 0;
if (!hasChromium)
  console.warn("report-chromium.test.ts skipped: /usr/bin/chromium not found (apt-get install chromium)");

const dir = mkdtempSync(join(tmpdir(), "memcg-sim-report-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function chromium(args: string[]): Promise<string> {
  const profile = mkdtempSync(join(dir, "profile-"));
  const { stdout } = await promisify(execFile)(
    CHROMIUM,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      "--hide-scrollbars",
      ...args,
    ],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** Runs in the page: per SVG, texts outside the SVG's box and pairs of overlapping texts. */
const MEASURE = `<script>
addEventListener("load", () => {
  const out = [];
  for (const fig of document.querySelectorAll("figure")) {
    const svg = fig.querySelector("svg");
    if (!svg) { out.push({ figure: fig.dataset.figure, empty: fig.dataset.empty === "true", text: fig.textContent }); continue; }
    const box = svg.getBoundingClientRect();
    const texts = [...svg.querySelectorAll("text")].map((t) => ({ s: t.textContent, r: t.getBoundingClientRect() }));
    const outside = texts.filter(({ r }) => r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5).map((t) => t.s);
    const overlaps = [];
    for (let i = 0; i < texts.length; i++)
      for (let j = i + 1; j < texts.length; j++) {
        const a = texts[i].r, b = texts[j].r;
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) overlaps.push([texts[i].s, texts[j].s]);
      }
    const legend = texts.filter((t) => t.r.top > box.top + 280 * (box.height / svg.viewBox.baseVal.height)).map((t) => t.s);
    out.push({ figure: fig.dataset.figure, texts: texts.length, outside, overlaps, legend });
  }
  const pre = document.createElement("pre");
  pre.id = "measured";
  pre.textContent = JSON.stringify(out);
  document.body.append(pre);
});
</script>`;

describe.skipIf(!hasChromium)("the compare report in headless Chromium", () => {
  it("fits every legend and label inside its chart, names coinciding lines, and draws no empty chart", async () => {
    const r = await compareScenario(await loadScenarioFile("test/scenarios/fixtures/tiny-churn.yaml"));
    const html = renderReport(r, { title: "tiny-churn" });
    const report = join(dir, "report.html");
    writeFileSync(report, html);
    writeFileSync(join(dir, "measure.html"), html.replace("</body>", `${MEASURE}</body>`));

    const dom = await chromium(["--dump-dom", `file://${join(dir, "measure.html")}`]);
    const m = /<pre id="measured">(.*?)<\/pre>/s.exec(dom);
    expect(m, dom.slice(-500)).not.toBeNull();
    const figures = JSON.parse(
      m![1]
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&"),
    );
    expect(figures.map((f: { figure: string }) => f.figure)).toEqual(["slab", "kmem", "dying", "failures"]);
    for (const f of figures) {
      if (f.empty) continue;
      expect(f.outside, `${f.figure}: texts outside the chart`).toEqual([]);
      expect(f.overlaps, `${f.figure}: overlapping texts`).toEqual([]);
    }
    const by = Object.fromEntries(figures.map((f: { figure: string }) => [f.figure, f]));
    // all 10 slab entries visible; v3.8 and v4.5 coincide here (28 slab pages each, tiny-churn) and say so
    expect(by.slab.legend).toEqual([
      "rfc-2012 slab memory",
      "rfc-2012 utilization",
      "v3.8 slab memory",
      "v3.8 utilization",
      "v4.5 slab memory (same as v3.8 slab memory)",
      "v4.5 utilization (same as v3.8 utilization)",
      "v5.9 slab memory",
      "v5.9 utilization",
      // v6.18 shares v5.9's slab allocator and shared caches: the same slabs
      "v6.18 slab memory (same as v5.9 slab memory)",
      "v6.18 utilization (same as v5.9 utilization)",
    ]);
    expect(by.dying.legend).toEqual([
      "rfc-2012",
      "v3.8 (same as rfc-2012)",
      "v4.5 (same as rfc-2012)",
      "v5.9",
      "v6.18 (same as v5.9)",
    ]);
    // nothing failed and nobody was OOM-killed in tiny-churn: a sentence, not an empty chart
    expect(by.failures).toMatchObject({ empty: true });
    expect(by.failures.text).toContain("No charge failed and no task was OOM-killed under any model.");
    // the slab axis in the unit of the data: 28 pages = 112 KiB
    expect(html).toContain("slab memory (KiB)");

    // the screenshot: a PNG of the requested size
    const png = join(dir, "report.png");
    await chromium(["--window-size=900,2000", `--screenshot=${png}`, `file://${report}`]);
    const bytes = readFileSync(png);
    expect(bytes.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([900, 2000]);
    if (process.env.MEMCG_SIM_REPORT_PNG) writeFileSync(process.env.MEMCG_SIM_REPORT_PNG, bytes);
  }, 120_000);
});

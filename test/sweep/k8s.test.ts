import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigMap, PersistentVolumeClaim, Pod } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runSweepCli, runSweepMergeCli } from "../../src/sweep/cli.js";
import { POD_RESULTS_DIR, POD_SPEC_PATH } from "../../src/sweep/k8s.js";
import { io, runCliProcess, tmp, writeSpec } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked by key
type Obj = any;

async function emit(completions: number, extra: string[] = []) {
  const d = tmp("k8s-");
  const spec = writeSpec(d);
  const out = join(d, "k8s");
  const t = io();
  const code = await runSweepCli(
    [spec, "--emit-k8s", out, "--completions", String(completions), ...extra],
    t.io,
  );
  return { d, spec, out, code, t };
}

const load = (f: string): Obj => parse(readFileSync(f, "utf8"));

describe("sweep --emit-k8s", () => {
  it("writes a ConfigMap, a PersistentVolumeClaim, an Indexed Job and a results reader Pod that the Kubernetes object schemas accept", async () => {
    const { out, code, t } = await emit(2, ["--image", "registry.example/memcg-sim:1.0", "--workers", "2"]);
    expect(code).toBe(0);
    expect(t.out().trim().split("\n")).toEqual(
      ["configmap.yaml", "pvc.yaml", "job.yaml", "results-reader.yaml"].map((f) => join(out, f)),
    );
    const cm = load(join(out, "configmap.yaml"));
    const pvc = load(join(out, "pvc.yaml"));
    const job = load(join(out, "job.yaml"));
    // kubernetes-models validates against the API's OpenAPI schemas (ajv); it throws on a violation
    expect(() => new ConfigMap(cm).validate()).not.toThrow();
    expect(() => new PersistentVolumeClaim(pvc).validate()).not.toThrow();
    expect(() => new Job(job).validate()).not.toThrow();
    const reader = load(join(out, "results-reader.yaml"));
    expect(() => new Pod(reader).validate()).not.toThrow();
    expect(reader.spec.volumes[0].persistentVolumeClaim.claimName).toBe(pvc.metadata.name);
    expect(job.spec).toMatchObject({
      completionMode: "Indexed",
      completions: 2,
      parallelism: 2,
      backoffLimitPerIndex: 2,
    });
    const pod = job.spec.template.spec;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.containers[0].image).toBe("registry.example/memcg-sim:1.0");
    expect(pod.containers[0].resources.requests.cpu).toBe("2");
    // the volumes name the objects emitted beside the Job
    expect(pod.volumes).toEqual([
      { name: "spec", configMap: { name: cm.metadata.name } },
      { name: "results", persistentVolumeClaim: { claimName: pvc.metadata.name } },
    ]);
  });

  it("the validator refuses a broken Job (the check can fail)", async () => {
    const { out } = await emit(2);
    const job = load(join(out, "job.yaml"));
    const bad = structuredClone(job);
    bad.spec.completions = "two";
    expect(() => new Job(bad).validate()).toThrow(/completions/);
    const noImage = structuredClone(job);
    noImage.spec.template.spec.containers[0].name = undefined;
    expect(() => new Job(noImage).validate()).toThrow(/name/);
  });

  it("refuses more completions than points, and a missing --completions", async () => {
    const many = await emit(9);
    expect(many.code).toBe(1);
    expect(many.t.err()).toContain("--completions 9 is more than the 8 points");
    const d = tmp();
    const t = io();
    expect(await runSweepCli([writeSpec(d), "--emit-k8s", join(d, "k")], t.io)).toBe(2);
    expect(t.err()).toContain("--emit-k8s needs --completions N");
  });

  it("each pod's command is the same CLI: run locally with JOB_COMPLETION_INDEX set, the shards merge into the single-process results", async () => {
    const { d, spec, out } = await emit(2);
    const job = load(join(out, "job.yaml"));
    const cm = load(join(out, "configmap.yaml"));
    const container = job.spec.template.spec.containers[0];
    expect(container.command).toEqual(["node", "dist/src/cli/main.js"]);
    // the pod's files: the ConfigMap's spec at its mount path, the results volume
    const specFile = join(d, "mounted-sweep.yaml");
    writeFileSync(specFile, cm.data["sweep.yaml"]);
    const resultsDir = join(d, "results");
    const dirs: string[] = [];
    for (const index of [0, 1]) {
      const env: Record<string, string> = { JOB_COMPLETION_INDEX: String(index) };
      for (const e of container.env) if (e.value !== undefined) env[e.name] = e.value;
      expect(env.JOB_COMPLETIONS).toBe("2");
      // kubelet expands $(VAR) from the container's environment; the paths map onto this machine
      const args = (container.args as string[]).map((a) =>
        a
          .replace(/\$\(([A-Z_]+)\)/g, (_, v: string) => env[v])
          .replace(POD_SPEC_PATH, specFile)
          .replace(POD_RESULTS_DIR, resultsDir),
      );
      expect(args.slice(0, 4)).toEqual(["sweep", specFile, "--out", join(resultsDir, `shard-${index}`)]);
      const r = await runCliProcess(args, env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`8 points, shard ${index}/2 owns 4`);
      dirs.push(join(resultsDir, `shard-${index}`));
    }
    const m = io();
    expect(await runSweepMergeCli([...dirs, "--out", join(d, "merged.jsonl")], m.io)).toBe(0);
    const single = join(d, "single");
    expect(await runSweepCli([spec, "--out", single, "--workers", "0"], io().io)).toBe(0);
    expect(readFileSync(join(d, "merged.jsonl")).equals(readFileSync(join(single, "results.jsonl")))).toBe(
      true,
    );
  }, 120_000);
});

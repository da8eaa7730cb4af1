import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { EngineError } from "../engine/index.js";
import { type SweepSpec, specDocument } from "./spec.js";

export const K8S_DEFAULTS = {
  /** The image built from the project's Dockerfile (`docker build -t memcg-sim:latest .`). */
  image: "memcg-sim:latest",
  /** Retries of one index before it counts as failed (`backoffLimitPerIndex`). */
  backoffLimitPerIndex: 2,
  storage: "1Gi",
  /**
   * MiB requested (and the limit) per worker thread: a container-fleet point (1.9M live objects)
   * peaked at 233 MiB for a whole one-thread process; twice that, rounded up.
   */
  memoryPerWorkerMi: 512,
};

/** A ConfigMap holds at most 1 MiB (Kubernetes' etcd object limit for its data). */
const CONFIGMAP_MAX_BYTES = 1024 * 1024;

export interface K8sOptions {
  completions: number;
  parallelism: number;
  image: string;
  /** Worker threads per pod (the pod requests as many CPUs). */
  workers: number;
}

/** The objects of a sweep on Kubernetes, as plain objects in the API's JSON shape. */
export interface K8sObjects {
  configMap: Record<string, unknown>;
  volumeClaim: Record<string, unknown>;
  job: Record<string, unknown>;
  /** A pod that only mounts the results volume, for `kubectl cp` once the Job is complete. */
  resultsPod: Record<string, unknown>;
}

/** Where the pod finds the spec and writes its shard (also what docs/SCALE.md shows). */
export const POD_SPEC_PATH = "/etc/memcg-sim/sweep.yaml";
export const POD_RESULTS_DIR = "/results";

/**
 * The Kubernetes objects that run `spec` as an Indexed Job of `completions` pods: a ConfigMap with
 * the self-contained spec, a ReadWriteMany claim for the results, and the Job. Each pod runs the
 * image's CLI, `sweep SPEC --out /results/shard-<index> --workers W`, its shard taken from
 * JOB_COMPLETION_INDEX / JOB_COMPLETIONS (set in its environment), so a retried index resumes its
 * own directory. `restartPolicy: Never` with `backoffLimitPerIndex`: a failing index is retried
 * alone, the others go on.
 */
export function k8sObjects(spec: SweepSpec, o: K8sOptions): K8sObjects {
  const name = `memcg-sim-sweep-${spec.digest.slice(0, 10)}`;
  const labels = {
    "app.kubernetes.io/name": "memcg-sim",
    "app.kubernetes.io/component": "sweep",
    "memcg-sim/sweep": spec.digest.slice(0, 10),
  };
  const specYaml = stringify(specDocument(spec));
  if (Buffer.byteLength(specYaml) > CONFIGMAP_MAX_BYTES)
    throw new EngineError(
      "LIMIT_EXCEEDED",
      `the spec is ${Buffer.byteLength(specYaml)} bytes, more than a ConfigMap holds (1 MiB)`,
      {
        limit: "configMapBytes",
      },
    );
  if (o.completions > spec.pointCount)
    throw new EngineError(
      "INVALID_ARGUMENT",
      `--completions ${o.completions} is more than the ${spec.pointCount} points`,
      {
        issues: [{ path: "completions", message: "more shards than points" }],
      },
    );
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name, labels },
    data: { "sweep.yaml": specYaml },
  };
  const volumeClaim = {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: `${name}-results`, labels },
    spec: {
      // every pod writes its own shard directory on the one volume
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage: K8S_DEFAULTS.storage } },
    },
  };
  const memoryMi = K8S_DEFAULTS.memoryPerWorkerMi * o.workers;
  const job = {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, labels },
    spec: {
      completionMode: "Indexed",
      completions: o.completions,
      parallelism: Math.min(o.parallelism, o.completions),
      backoffLimitPerIndex: K8S_DEFAULTS.backoffLimitPerIndex,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // the image's user is node (uid 1000): the results volume is made writable for it
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true },
          containers: [
            {
              name: "sweep",
              image: o.image,
              command: ["node", "dist/src/cli/main.js"],
              args: [
                "sweep",
                POD_SPEC_PATH,
                "--out",
                `${POD_RESULTS_DIR}/shard-$(JOB_COMPLETION_INDEX)`,
                "--workers",
                String(o.workers),
              ],
              env: [
                // the control plane sets it too; declared here so $(JOB_COMPLETION_INDEX) expands in args
                {
                  name: "JOB_COMPLETION_INDEX",
                  valueFrom: {
                    fieldRef: {
                      fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
                    },
                  },
                },
                { name: "JOB_COMPLETIONS", value: String(o.completions) },
              ],
              resources: {
                requests: { cpu: String(o.workers), memory: `${memoryMi}Mi` },
                limits: { memory: `${memoryMi}Mi` },
              },
              volumeMounts: [
                { name: "spec", mountPath: "/etc/memcg-sim", readOnly: true },
                { name: "results", mountPath: POD_RESULTS_DIR },
              ],
            },
          ],
          volumes: [
            { name: "spec", configMap: { name } },
            { name: "results", persistentVolumeClaim: { claimName: `${name}-results` } },
          ],
        },
      },
    },
  };
  const resultsPod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `${name}-reader`, labels },
    spec: {
      restartPolicy: "Never",
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, runAsNonRoot: true },
      containers: [
        {
          name: "reader",
          image: o.image,
          // the image is Debian slim: sleep and tar (kubectl cp) are there
          command: ["sleep", "3600"],
          volumeMounts: [{ name: "results", mountPath: POD_RESULTS_DIR, readOnly: true }],
        },
      ],
      volumes: [{ name: "results", persistentVolumeClaim: { claimName: `${name}-results`, readOnly: true } }],
    },
  };
  return { configMap, volumeClaim, job, resultsPod };
}

/** Writes configmap.yaml, pvc.yaml, job.yaml and results-reader.yaml into `dir`; returns their paths. */
export function emitK8s(spec: SweepSpec, dir: string, o: K8sOptions): string[] {
  const objs = k8sObjects(spec, o);
  mkdirSync(dir, { recursive: true });
  const files: [string, Record<string, unknown>][] = [
    ["configmap.yaml", objs.configMap],
    ["pvc.yaml", objs.volumeClaim],
    ["job.yaml", objs.job],
    ["results-reader.yaml", objs.resultsPod],
  ];
  return files.map(([f, obj]) => {
    const path = join(dir, f);
    // no YAML anchors: the labels repeat in full (kubectl reads anchors, but people read these files)
    writeFileSync(path, stringify(obj, { aliasDuplicateObjects: false }));
    return path;
  });
}

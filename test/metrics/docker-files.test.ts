import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

// Docker cannot run on the CI machine (no engine, no compose plugin): these checks read the files.
const root = fileURLToPath(new URL("../../", import.meta.url));
const docker = join(root, "docker");
const yaml = (p: string) => parse(readFileSync(join(root, p), "utf8"));

describe("docker and Grafana files", () => {
  it("composes memcg-sim from ../Dockerfile with Prometheus and provisioned Grafana", () => {
    const c = yaml("docker/docker-compose.yml");
    expect(Object.keys(c.services).sort()).toEqual(["grafana", "memcg-sim", "prometheus"]);
    const sim = c.services["memcg-sim"];
    expect(existsSync(join(resolve(docker, sim.build.context), sim.build.dockerfile))).toBe(true);
    expect(sim.environment).toMatchObject({ MEMCG_SIM_HOST: "0.0.0.0", MEMCG_SIM_DATA_DIR: "/data" });
    for (const svc of Object.values(c.services) as { volumes?: string[] }[])
      for (const v of svc.volumes ?? []) {
        const src = v.split(":")[0];
        if (src.startsWith(".")) expect(existsSync(resolve(docker, src)), v).toBe(true);
      }
    expect(c.services.grafana.volumes).toEqual(
      expect.arrayContaining([
        "./grafana/provisioning:/etc/grafana/provisioning:ro",
        "./grafana/dashboards:/var/lib/grafana/dashboards:ro",
      ]),
    );
  });

  it("scrapes memcg-sim:8080 every 5 s", () => {
    const p = yaml("docker/prometheus.yml");
    expect(p.global.scrape_interval).toBe("5s");
    expect(
      p.scrape_configs.map((s: { static_configs: { targets: string[] }[] }) => s.static_configs[0].targets),
    ).toEqual([["memcg-sim:8080"], ["memcg-sim:8080"]]);
  });

  it("points every dashboard query at the provisioned datasource uid and offers simulation and cgroup variables", () => {
    const ds = yaml("docker/grafana/provisioning/datasources/prometheus.yml").datasources[0];
    expect(ds.uid).toBe("memcg-sim-prom");
    const provider = yaml("docker/grafana/provisioning/dashboards/provider.yml").providers[0];
    expect(provider.options.path).toBe("/var/lib/grafana/dashboards");
    const dash = JSON.parse(readFileSync(join(docker, "grafana/dashboards/memcg-sim.json"), "utf8"));
    expect(dash.templating.list.map((v: { name: string }) => v.name)).toEqual(["simulation", "cgroup"]);
    for (const p of dash.panels) {
      expect(p.datasource.uid, p.title).toBe("memcg-sim-prom");
      for (const t of p.targets) expect(t.datasource.uid).toBe("memcg-sim-prom");
    }
    const ids = dash.panels.map((p: { id: number }) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("builds a non-root node:22-slim image with a /readyz healthcheck", () => {
    const f = readFileSync(join(root, "Dockerfile"), "utf8");
    expect(f).toMatch(/^FROM node:22-slim/m);
    expect(f).toMatch(/^USER node$/m);
    expect(f).toMatch(/MEMCG_SIM_HOST=0\.0\.0\.0/);
    expect(f).toMatch(/MEMCG_SIM_DATA_DIR=\/data/);
    expect(f).toMatch(/^HEALTHCHECK[\s\S]*node", "-e", "fetch\('http:\/\/127\.0\.0\.1:8080\/readyz'\)/m);
    expect(f).toMatch(/^CMD \["node", "dist\/src\/main\.js"\]$/m);
  });
});

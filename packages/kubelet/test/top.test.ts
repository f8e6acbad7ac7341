// metrics.k8s.io from the kubelet's /stats/summary, read by the real `kubectl top` against a
// real apiserver and a kubelet on the real Docker engine: a cpu-burning pod shows its usage,
// an idle two-container pod its containers, and a node whose kubelet is silent is left out.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { join } from "node:path";
import { freePort } from "@skiff/testing";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness } from "./harness.js";

const repo = join(import.meta.dirname, "../../..");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe("kubectl top on a kubelet", { timeout: 600_000 }, () => {
  let h: Harness;
  let silentNode = "";
  const kubectl = (args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(
        "kubectl",
        ["--kubeconfig", h.api.kubeconfig, "--request-timeout=30s", ...args],
        { timeout: 60_000 },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  const rows = (text: string) =>
    text
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/));
  const milli = (cpu: string) =>
    cpu.endsWith("m") ? Number(cpu.slice(0, -1)) : Number(cpu) * 1000;

  before(async () => {
    h = await startHarness({ metricResolutionMs: 2000 });
    await h.startKubelet();
    await assignPodCIDR(h);
    // A node whose kubelet never answers: its port is closed.
    silentNode = `${h.nodeName}-silent`;
    const res = await h.api.request("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: silentNode },
    });
    assert.equal(res.status, 201, res.text);
    const port = await freePort();
    const st = await h.api.request(
      "PATCH",
      `/api/v1/nodes/${silentNode}/status`,
      {
        status: {
          addresses: [{ type: "InternalIP", address: "127.0.0.1" }],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
          capacity: { cpu: "1", memory: "1Gi", pods: "10" },
          allocatable: { cpu: "1", memory: "1Gi", pods: "10" },
        },
      },
      { contentType: "application/merge-patch+json" },
    );
    assert.equal(st.status, 200, st.text);
    await h.createPod(
      "burn",
      {
        containers: [
          {
            name: "burn",
            image: IMAGE,
            command: ["sh", "-c", "while :; do :; done"],
            resources: { requests: { cpu: "100m" }, limits: { cpu: "300m" } },
          },
        ],
      },
      { labels: { app: "burn" } },
    );
    await h.createPod(
      "idle",
      {
        containers: ["a", "b"].map((name) => ({
          name,
          image: IMAGE,
          command: ["sleep", "3600"],
        })),
      },
      { labels: { app: "idle" } },
    );
    await h.waitPod("burn", (p) => p.status?.phase === "Running", 120_000);
    await h.waitPod("idle", (p) => p.status?.phase === "Running", 120_000);
  });

  after(async () => {
    await h?.api.request("DELETE", `/api/v1/nodes/${silentNode}`);
    await h?.cleanup();
  });

  test("kubectl top pod shows the burning pod's cpu, near its 300m limit", async () => {
    const out = await waitFor(
      "burn's metrics",
      async () => {
        const r = await kubectl(["top", "pod", "burn"]);
        if (r.code !== 0) return undefined;
        const [, row] = rows(r.stdout);
        return row && milli(row[1]!) >= 150 ? r : undefined;
      },
      120_000,
    );
    const [header, row] = rows(out.stdout);
    assert.deepEqual(header, ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert.equal(row![0], "burn");
    assert.ok(milli(row![1]!) <= 360, out.stdout);
    assert.match(row![2]!, /^\d+Mi$/);
  });

  test("--containers, -A, -l and --sort-by print what kubectl prints on Kubernetes", async () => {
    const both = await waitFor("idle's metrics", async () => {
      const r = await kubectl(["top", "pod", "--sort-by=cpu"]);
      return r.code === 0 && r.stdout.includes("idle") && r.stdout.includes("burn") ? r : undefined;
    });
    // Sorted by cpu, highest first.
    assert.deepEqual(
      rows(both.stdout).map((r) => r[0]),
      ["NAME", "burn", "idle"],
    );
    const containers = await kubectl(["top", "pod", "-l", "app=idle", "--containers"]);
    assert.equal(containers.code, 0, containers.stderr);
    const c = rows(containers.stdout);
    assert.deepEqual(c[0], ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert.deepEqual(
      c.slice(1).map((r) => `${r[0]}/${r[1]}`),
      ["idle/a", "idle/b"],
    );
    const all = await kubectl(["top", "pod", "-A"]);
    assert.equal(all.code, 0, all.stderr);
    const a = rows(all.stdout);
    assert.deepEqual(a[0], ["NAMESPACE", "NAME", "CPU(cores)", "MEMORY(bytes)"]);
    assert.ok(
      a.some((r) => r[0] === "default" && r[1] === "burn"),
      all.stdout,
    );
    const none = await kubectl(["top", "pod", "-l", "app=nothing"]);
    assert.match(none.stdout + none.stderr, /No resources found in default namespace/);
  });

  test("kubectl top node: the live node with its percentages, the silent one <unknown>", async () => {
    const r = await waitFor("node metrics", async () => {
      const r = await kubectl(["top", "node"]);
      return r.code === 0 && r.stdout.includes(h.nodeName) ? r : undefined;
    });
    const t = rows(r.stdout);
    assert.deepEqual(t[0], ["NAME", "CPU(cores)", "CPU%", "MEMORY(bytes)", "MEMORY%"]);
    const row = t.find((x) => x[0] === h.nodeName)!;
    assert.match(row[1]!, /^\d+m$/);
    assert.match(row[2]!, /^\d+%$/);
    assert.match(row[3]!, /^\d+Mi$/);
    // The silent node is left out of the metrics, so kubectl shows it as it does on
    // Kubernetes when metrics-server has no figures for a node.
    const silent = t.find((x) => x[0] === silentNode);
    assert.deepEqual(silent, [silentNode, ...Array(4).fill("<unknown>")], r.stdout);
    const one = await kubectl(["top", "node", silentNode]);
    assert.notEqual(one.code, 0, one.stdout);
    assert.equal(
      one.stderr.trim(),
      `Error from server (NotFound): nodes.metrics.k8s.io "${silentNode}" not found`,
    );
  });

  test("skiffctl top prints the same tables as kubectl top", async () => {
    const skiffctl = (args: string[]) =>
      new Promise<Run>((resolve) => {
        execFile(
          process.execPath,
          [
            join(repo, "packages/skiffctl/bin/skiffctl.js"),
            "--kubeconfig",
            h.api.kubeconfig,
            ...args,
          ],
          { timeout: 60_000 },
          (err, stdout, stderr) =>
            resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    // Usage changes between two calls (and with it the widths of the figure columns):
    // the header lines must be identical, the rows equal but for the figures.
    const shape = (text: string) =>
      text
        .split("\n")
        .slice(1)
        .map((l) =>
          l
            .replace(/\d+m /g, "Nm ")
            .replace(/\d+Mi/g, "NMi")
            .replace(/\d+%/g, "N%")
            .replace(/\s+/g, " "),
        );
    for (const args of [
      ["top", "pod", "-l", "app=idle", "--containers"],
      ["top", "pod", "-A", "--sort-by=cpu"],
      ["top", "node"],
    ]) {
      const [k, s] = await Promise.all([kubectl(args), skiffctl(args)]);
      assert.equal(s.code, 0, s.stderr);
      assert.equal(s.stdout.split("\n")[0], k.stdout.split("\n")[0], args.join(" "));
      assert.deepEqual(shape(s.stdout), shape(k.stdout), args.join(" "));
    }
    const none = await skiffctl(["top", "pod", "-l", "app=nothing"]);
    assert.equal(none.stderr, "No resources found in default namespace.\n");
  });

  test("the API itself: PodMetrics by name, NodeMetrics with labels, 404 for the unknown", async () => {
    const pod = await h.api.request(
      "GET",
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn",
    );
    assert.equal(pod.status, 200, pod.text);
    assert.equal(pod.json.kind, "PodMetrics");
    assert.equal(pod.json.metadata.labels.app, "burn");
    assert.match(pod.json.containers[0].usage.cpu, /^\d+n$/);
    assert.match(pod.json.window, /^[\d.]+s$/);
    const list = await h.api.request(
      "GET",
      "/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Dburn",
    );
    assert.deepEqual(
      list.json.items.map((i: { metadata: { name: string } }) => i.metadata.name),
      ["burn"],
    );
    const missing = await h.api.request(
      "GET",
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/nope",
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.json.reason, "NotFound");
    const groups = await h.api.request("GET", "/apis");
    assert.ok(
      groups.json.groups.some((g: { name: string }) => g.name === "metrics.k8s.io"),
      "metrics.k8s.io is discovered",
    );
  });
});

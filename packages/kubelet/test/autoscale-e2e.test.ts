// End to end: a Deployment whose pods burn cpu until a set time, on a kubelet on the real
// Docker engine, with the real scheduler and controller-manager processes (their dist/
// programs) and the apiserver's metrics.k8s.io. `kubectl top` shows the load; an HPA at 50%
// (its manifest shortens the scale-down window to 15 s) scales the Deployment up within two
// minutes, and back down to one pod once the load stops.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort } from "@skiff/testing";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness } from "./harness.js";

const repo = join(import.meta.dirname, "../../..");

describe("HPA end to end", { timeout: 900_000 }, () => {
  let h: Harness;
  const procs: ChildProcess[] = [];
  const kubectl = (args: string[], input?: string) => h.kubectl(args, input);
  const replicas = async (): Promise<number> => {
    const r = await h.api.request("GET", "/apis/apps/v1/namespaces/default/deployments/burn");
    return r.json?.spec?.replicas ?? -1;
  };

  before(async () => {
    h = await startHarness();
    await h.startKubelet();
    await assignPodCIDR(h);
    const run = async (program: string, args: string[]) => {
      const p = spawn(
        process.execPath,
        [join(repo, program), `--kubeconfig=${h.api.kubeconfig}`, ...args],
        {
          stdio: "ignore",
        },
      );
      procs.push(p);
    };
    await run("packages/controller-manager/dist/main.js", [
      "--controllers=deployment,replicaset,horizontalpodautoscaling",
      "--leader-elect=false",
      `--port=${await freePort()}`,
    ]);
    await run("packages/scheduler/dist/main.js", [
      "--leader-elect=false",
      `--port=${await freePort()}`,
    ]);
  });

  after(async () => {
    for (const p of procs) p.kill("SIGTERM");
    await kubectl(["delete", "deployment", "burn", "--wait=false"]);
    await waitFor(
      "the pods gone",
      async () => {
        const r = await h.api.request(
          "GET",
          "/api/v1/namespaces/default/pods?labelSelector=app%3Dburn",
        );
        for (const p of r.json?.items ?? []) {
          await h.api.request("DELETE", `/api/v1/namespaces/default/pods/${p.metadata.name}`, {
            gracePeriodSeconds: 0,
          });
        }
        return (r.json?.items ?? []).length === 0;
      },
      120_000,
    ).catch(() => undefined);
    await h?.cleanup();
  });

  test("kubectl top shows the load; the HPA scales up within 2 minutes and back down", async (t) => {
    // Every pod (the first and those the HPA adds) burns until the test sets STOP in the
    // template (new pods then idle), or for at most 5 minutes.
    const burnUntil = Math.floor(Date.now() / 1000) + 300;
    const manifest = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "burn", namespace: "default" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "burn" } },
        template: {
          metadata: { labels: { app: "burn" } },
          spec: {
            terminationGracePeriodSeconds: 1,
            containers: [
              {
                name: "burn",
                image: IMAGE,
                command: [
                  "sh",
                  "-c",
                  `[ -n "$STOP" ] || while [ "$(date +%s)" -lt ${burnUntil} ]; do :; done; exec sleep 3600`,
                ],
                resources: { requests: { cpu: "100m" }, limits: { cpu: "200m" } },
              },
            ],
          },
        },
      },
    };
    const hpa = {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "burn", namespace: "default" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "burn" },
        minReplicas: 1,
        maxReplicas: 3,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
          },
        ],
        behavior: { scaleDown: { stabilizationWindowSeconds: 15 } },
      },
    };
    for (const obj of [manifest, hpa]) {
      const applied = await kubectl(["apply", "-f", "-"], JSON.stringify(obj));
      assert.equal(applied.code, 0, applied.stderr);
    }
    const loadStarted = Date.now();

    const top = await waitFor(
      "kubectl top to show the burning pod",
      async () => {
        const r = await kubectl(["top", "pod", "-l", "app=burn"]);
        const row = r.stdout.trim().split("\n")[1]?.trim().split(/\s+/);
        return row && /^\d+m$/.test(row[1]!) && parseInt(row[1]!, 10) >= 100 ? r.stdout : undefined;
      },
      120_000,
    );
    assert.match(top, /^NAME\s+CPU\(cores\)\s+MEMORY\(bytes\)/);

    await waitFor("the HPA to scale up", async () => (await replicas()) > 1, 120_000);
    const upAfter = (Date.now() - loadStarted) / 1000;
    assert.ok(upAfter <= 120, `scaled up after ${upAfter} s`);
    const shown = await kubectl(["get", "hpa", "burn"]);
    assert.match(shown.stdout, /cpu: \d+%\/50%/);
    const events = await kubectl(["get", "events", "--field-selector", "reason=SuccessfulRescale"]);
    assert.match(
      events.stdout,
      /New size: [23]; reason: cpu resource utilization \(percentage of request\) above target/,
    );

    // The load stops (the pods are replaced by idle ones); with a 15 s window the HPA goes
    // back to one pod — and not before: the replicas stay up while the load lasts.
    assert.ok((await replicas()) > 1, "scaled down while the load lasted");
    const stopped = await kubectl(["set", "env", "deployment/burn", "STOP=1"]);
    assert.equal(stopped.code, 0, stopped.stderr);
    const loadStopped = Date.now();
    await waitFor("the HPA to scale back down to 1", async () => (await replicas()) === 1, 300_000);
    t.diagnostic(
      `scaled up ${upAfter.toFixed(0)} s after the load started; back to 1 pod ${((Date.now() - loadStopped) / 1000).toFixed(0)} s after it stopped`,
    );
  });
});

// The kubelet on the real engine, for what happens over a container's life: probe restarts in
// the crash-loop back-off, httpGet, tcpSocket and startup probes, postStart hooks, static
// pods, dead-container garbage collection, service environment variables and /stats/summary.
import assert from "node:assert/strict";
import { readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { execFile } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { request } from "node:https";
import { before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readAll } from "../src/runtime/streams.js";
import { LABEL_CONTAINER_NAME, LABEL_POD_UID } from "../src/runtime/runtime.js";
import {
  IMAGE,
  containerStatus,
  useRunningKubelet,
  waitFor,
  type Harness,
  type Pod,
} from "./harness.js";

let h: Harness;
const skiffctlMain = fileURLToPath(new URL("../../skiffctl/src/main.ts", import.meta.url));

/** A GET on the kubelet's API with the apiserver's client certificate. */
function kubeletGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port: h.port,
        path,
        cert: readFileSync(`${h.api.certDir}/apiserver-kubelet-client.crt`),
        key: readFileSync(`${h.api.certDir}/apiserver-kubelet-client.key`),
        rejectUnauthorized: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Every Docker container of a pod, as `docker ps -a --filter label=...` shows them. */
async function dockerContainers(uid: string) {
  return h.runtime.docker.listContainers({
    all: true,
    filters: { label: [`${LABEL_POD_UID}=${uid}`] },
  });
}

const seconds = (t: string) => Date.parse(t) / 1000;

describe(
  "kubelet container lifecycle on the real engine",
  { timeout: 300_000, concurrency: true },
  () => {
    const harness = useRunningKubelet();
    before(() => {
      h = harness();
    });

    test("liveness restarts go through CrashLoopBackOff: the second restart waits 10 s", async () => {
      await h.createPod("probe-loop", {
        containers: [
          {
            name: "app",
            image: IMAGE,
            // Exits at once on SIGTERM, so each kill is quick.
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
            livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 1 },
          },
        ],
      });
      // The first liveness restart is immediate; when that instance fails too, it waits.
      const waiting = await h.waitPod(
        "probe-loop",
        (p) => containerStatus(p, "app")?.state?.waiting?.reason === "CrashLoopBackOff",
        90_000,
      );
      const cs = containerStatus(waiting, "app");
      assert.equal(cs.restartCount, 1, JSON.stringify(cs));
      assert.match(
        cs.state.waiting.message,
        new RegExp(
          `^back-off 10s restarting failed container=app pod=probe-loop_default\\(${waiting.metadata.uid}\\)$`,
        ),
      );
      assert.ok(cs.lastState.terminated, JSON.stringify(cs));
      const firstRestartEnded = seconds(cs.lastState.terminated.finishedAt);
      const later = await h.waitPod(
        "probe-loop",
        (p) => containerStatus(p, "app")?.restartCount >= 2,
        60_000,
      );
      const next = containerStatus(later, "app");
      const secondRestartAt = seconds(
        next.state.running?.startedAt ?? next.lastState.terminated.startedAt,
      );
      // Times are whole seconds: 10 s of back-off shows as at least 9.
      assert.ok(secondRestartAt - firstRestartEnded >= 9, JSON.stringify({ cs, next }));
      const events = await h.events("probe-loop");
      assert.equal(
        events.find((e) => e.reason === "BackOff")?.message,
        `Back-off restarting failed container app in pod probe-loop_default(${waiting.metadata.uid})`,
      );
      assert.ok(events.some((e) => e.reason === "Unhealthy"));
    });

    test("a pod past spec.activeDeadlineSeconds is stopped and fails with DeadlineExceeded, for good", async () => {
      const sleeper = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];
      // The deadline runs out while the pod runs: nothing else wakes the pod's sync then.
      await h.createPod("deadline", {
        activeDeadlineSeconds: 3,
        containers: [{ name: "app", image: IMAGE, command: sleeper }],
      });
      await h.waitPod("deadline", (p) => p.status?.phase === "Running", 60_000);
      const failed = await h.waitPod("deadline", (p) => p.status?.phase === "Failed", 30_000);
      assert.equal(failed.status.reason, "DeadlineExceeded");
      assert.equal(
        failed.status.message,
        "Pod was active on the node longer than the specified deadline",
      );
      const cs = containerStatus(failed, "app");
      assert.ok(cs.state.terminated, JSON.stringify(cs));
      // Times are whole seconds: 3 s shows as at least 2.
      const ran = seconds(cs.state.terminated.finishedAt) - seconds(failed.status.startTime);
      assert.ok(ran >= 2 && ran <= 15, JSON.stringify(failed.status));
      const events = await h.events("deadline");
      assert.ok(
        events.some(
          (e) =>
            e.type === "Normal" &&
            e.reason === "DeadlineExceeded" &&
            e.message === failed.status.message,
        ),
        JSON.stringify(events),
      );
      // restartPolicy Always does not bring it back.
      await new Promise((r) => setTimeout(r, 3000));
      const later = await h.getPod("deadline");
      assert.equal(later.status.phase, "Failed");
      assert.equal(containerStatus(later, "app").restartCount, 0);
      assert.ok(containerStatus(later, "app").state.terminated);

      // A deadline given to a running pod counts from the pod's start: one already past
      // stops it at once.
      await h.runningPod("late-deadline", sleeper);
      await new Promise((r) => setTimeout(r, 1500));
      const patched = await h.api.request(
        "PATCH",
        "/api/v1/namespaces/default/pods/late-deadline",
        { spec: { activeDeadlineSeconds: 1 } },
        { contentType: "application/merge-patch+json" },
      );
      assert.equal(patched.status, 200, patched.text);
      const late = await h.waitPod("late-deadline", (p) => p.status?.phase === "Failed", 30_000);
      assert.equal(late.status.reason, "DeadlineExceeded");
    });

    test("an httpGet liveness probe restarts a real container on a 404; its postStart hook runs in each instance", async () => {
      await h.createPod("http-live", {
        containers: [
          {
            name: "web",
            image: IMAGE,
            command: [
              "sh",
              "-c",
              "mkdir -p /www; echo ok > /www/healthz; exec httpd -f -p 8080 -h /www",
            ],
            ports: [{ name: "http", containerPort: 8080 }],
            lifecycle: { postStart: { exec: { command: ["sh", "-c", "hostname > /tmp/hooked"] } } },
            livenessProbe: {
              httpGet: { path: "/healthz", port: "http" },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      });
      const run = async (id: string, cmd: string): Promise<string> => {
        const session = await h.runtime.exec(id, { command: ["sh", "-c", cmd] });
        const [out] = await Promise.all([readAll(session.stdout), session.exitCode]);
        session.stderr?.resume();
        return out.trim();
      };
      const first = await h.waitPod("http-live", (p) => containerStatus(p, "web")?.ready);
      const firstId = containerStatus(first, "web").containerID.replace("docker://", "");
      assert.notEqual(await run(firstId, "cat /tmp/hooked"), "", "postStart ran");
      // Several probe periods pass with the server answering 200: no restart.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(containerStatus(await h.getPod("http-live"), "web").restartCount, 0);
      await run(firstId, "rm /www/healthz");
      const restarted = await h.waitPod(
        "http-live",
        (p) => containerStatus(p, "web")?.restartCount === 1 && containerStatus(p, "web").ready,
        60_000,
      );
      const cs = containerStatus(restarted, "web");
      assert.ok(cs.lastState.terminated, JSON.stringify(cs));
      const secondId = cs.containerID.replace("docker://", "");
      assert.notEqual(secondId, firstId);
      assert.notEqual(await run(secondId, "cat /tmp/hooked"), "", "postStart ran again");
      const unhealthy = (await h.events("http-live")).filter((e) => e.reason === "Unhealthy");
      assert.ok(
        unhealthy.some(
          (e) => e.message === "Liveness probe failed: HTTP probe failed with statuscode: 404",
        ),
        JSON.stringify(unhealthy),
      );
    });

    test("a failing postStart hook kills the container with a FailedPostStartHook event", async () => {
      await h.createPod("hook-fails", {
        restartPolicy: "Never",
        containers: [
          {
            name: "app",
            image: IMAGE,
            command: ["sleep", "3600"],
            lifecycle: { postStart: { exec: { command: ["sh", "-c", "echo no; exit 7"] } } },
          },
        ],
      });
      const pod = await h.waitPod("hook-fails", (p) => p.status?.phase === "Failed");
      assert.ok(containerStatus(pod, "app").state.terminated, JSON.stringify(pod.status));
      const events = await h.events("hook-fails");
      assert.equal(
        events.find((e) => e.reason === "FailedPostStartHook")?.message,
        "command exited with 7: no",
      );
    });

    test("a tcpSocket readiness probe follows the port; liveness waits for the startup probe", async () => {
      await h.createPod("tcp-startup", {
        containers: [
          {
            name: "tcp",
            image: IMAGE,
            command: [
              "sh",
              "-c",
              "until [ -f /tmp/listen ]; do sleep 0.2; done; exec httpd -f -p 9090",
            ],
            readinessProbe: { tcpSocket: { port: 9090 }, periodSeconds: 1, failureThreshold: 1 },
          },
          {
            name: "slow",
            image: IMAGE,
            command: ["sleep", "3600"],
            startupProbe: {
              exec: { command: ["test", "-f", "/tmp/started"] },
              periodSeconds: 1,
              failureThreshold: 60,
            },
            // Would restart the container at once if it ran before startup succeeded.
            livenessProbe: {
              exec: { command: ["test", "-f", "/tmp/started"] },
              periodSeconds: 1,
              failureThreshold: 1,
            },
          },
        ],
      });
      const pod = await h.waitPod("tcp-startup", (p) => p.status?.phase === "Running");
      const idOf = (name: string) =>
        containerStatus(pod, name).containerID.replace("docker://", "");
      const touch = async (name: string, file: string) =>
        (await h.runtime.exec(idOf(name), { command: ["touch", file] })).exitCode;
      // Several probe periods with nothing listening and startup not done.
      await new Promise((r) => setTimeout(r, 3000));
      let now = await h.getPod("tcp-startup");
      assert.equal(containerStatus(now, "tcp").ready, false);
      const slow = containerStatus(now, "slow");
      assert.equal(slow.started, false, JSON.stringify(slow));
      assert.equal(slow.ready, false);
      assert.equal(slow.restartCount, 0, "liveness must not run before startup succeeds");
      const refused = (await h.events("tcp-startup")).find((e) =>
        e.message.startsWith("Readiness probe failed: dial tcp "),
      );
      assert.match(refused?.message ?? "", /^Readiness probe failed: dial tcp [\d.]+:9090: /);

      assert.equal(await touch("tcp", "/tmp/listen"), 0);
      now = await h.waitPod("tcp-startup", (p) => containerStatus(p, "tcp")?.ready === true);
      assert.equal(containerStatus(now, "slow").ready, false);
      assert.equal(await touch("slow", "/tmp/started"), 0);
      await h.waitPod("tcp-startup", (p) => containerStatus(p, "slow")?.started === true);
      now = await h.waitPod("tcp-startup", (p) =>
        p.status?.conditions?.some(
          (c: { type: string; status: string }) => c.type === "Ready" && c.status === "True",
        ),
      );
      assert.equal(containerStatus(now, "slow").ready, true);
      assert.equal(containerStatus(now, "slow").restartCount, 0);
    });

    test("a static pod from --pod-manifest-path runs on the engine with a mirror pod, which comes back when deleted, until its file goes", async () => {
      const file = join(h.manifestDir, "static-web.yaml");
      writeFileSync(
        file,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: static-web, namespace: default}\n" +
          "spec:\n  terminationGracePeriodSeconds: 1\n  containers:\n" +
          `  - {name: app, image: "${IMAGE}", command: [sleep, "3600"]}\n`,
      );
      const mirrorName = `static-web-${h.nodeName}`;
      const mirror = await h.waitPod(mirrorName, (p) => p.status?.phase === "Running");
      const staticUid = mirror.metadata.annotations["kubernetes.io/config.mirror"];
      assert.ok(staticUid);
      assert.notEqual(staticUid, mirror.metadata.uid);
      assert.equal(mirror.metadata.annotations["kubernetes.io/config.source"], "file");
      assert.equal(mirror.spec.nodeName, h.nodeName);
      const containerID = containerStatus(mirror, "app").containerID;
      const running = await dockerContainers(staticUid);
      assert.ok(
        running.some((c) => `docker://${c.Id}` === containerID && c.State === "running"),
        JSON.stringify(running.map((c) => [c.Id, c.State])),
      );
      // Deleting the mirror (as `kubectl delete pod` does, gracefully) leaves the static pod
      // running; the kubelet puts a new mirror in its place.
      const del = await h.api.request("DELETE", `/api/v1/namespaces/default/pods/${mirrorName}`);
      assert.ok([200, 202].includes(del.status), del.text);
      const again = await h.waitPod(
        mirrorName,
        (p) =>
          p.metadata.uid !== mirror.metadata.uid &&
          !p.metadata.deletionTimestamp &&
          p.status?.phase === "Running",
        30_000,
      );
      assert.equal(containerStatus(again, "app").containerID, containerID);
      unlinkSync(file);
      await waitFor("the mirror pod gone", async () => !(await h.getPod(mirrorName)), 30_000);
      await waitFor(
        "the static pod's containers removed",
        async () => (await dockerContainers(staticUid)).length === 0,
        30_000,
      );
    });

    test("skiffctl exec -i pipes stdin to the command and exits with its exit code, through the apiserver and the kubelet", async () => {
      await h.createPod("skiffctl-exec", {
        containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
      });
      await h.waitPod("skiffctl-exec", (p) => p.status?.phase === "Running");
      // skiffctl as a user runs it: its own process, from source, reading this stdin.
      const skiffctl = (args: string[], input: string) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
          const child = execFile(
            process.execPath,
            ["--conditions=source", "--import", "tsx", skiffctlMain, ...args],
            {
              env: { ...process.env, KUBECONFIG: h.api.kubeconfig, HOME: h.rootDir },
              timeout: 60_000,
              maxBuffer: 4 << 20,
            },
            (err, stdout, stderr) =>
              resolve({
                code: err ? Number((err as { code?: unknown }).code ?? 1) : 0,
                stdout,
                stderr,
              }),
          );
          child.stdin!.end(input);
        });
      const failed = await skiffctl(
        ["exec", "-i", "skiffctl-exec", "--", "sh", "-c", "tr a-z A-Z; echo to-stderr >&2; exit 5"],
        "typed input\n",
      );
      assert.equal(failed.code, 5, failed.stderr);
      assert.equal(failed.stdout, "TYPED INPUT\n");
      assert.match(failed.stderr, /^to-stderr$/m);
      // More than one frame's worth of stdin arrives whole, and the end of it is the EOF.
      const counted = await skiffctl(
        ["exec", "-i", "skiffctl-exec", "--", "wc", "-c"],
        "z".repeat(300_000),
      );
      assert.equal(counted.code, 0, counted.stderr);
      assert.equal(counted.stdout.trim(), "300000");
    });

    test("dead containers are collected: one exited instance per container is kept, none once the pod is deleted", async () => {
      const created = await h.createPod("crasher", {
        containers: [{ name: "app", image: IMAGE, command: ["sh", "-c", "exit 1"] }],
      });
      const uid = created.metadata.uid as string;
      await h.waitPod("crasher", (p) => containerStatus(p, "app")?.restartCount >= 3, 120_000);
      const all = await dockerContainers(uid);
      const apps = all.filter((c) => c.Labels[LABEL_CONTAINER_NAME] === "app");
      const exited = apps.filter((c) => c.State !== "running");
      assert.ok(apps.length >= 1 && exited.length <= 2, JSON.stringify(apps.map((c) => c.State)));
      // Beyond the newest instance, at most one dead one remains.
      assert.ok(apps.length <= 2, `${apps.length} instances of app are left`);
      const del = await h.api.request("DELETE", "/api/v1/namespaces/default/pods/crasher");
      assert.ok([200, 202].includes(del.status), `${del.status}`);
      await waitFor("the pod's containers removed", async () =>
        (await dockerContainers(uid)).length === 0 ? true : undefined,
      );
    });

    test("containers get service environment variables; their own env wins", async () => {
      const res = await h.api.request("POST", "/api/v1/namespaces/default/services", {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web-front" },
        spec: {
          selector: { app: "web" },
          ports: [{ name: "http", port: 8080, targetPort: 80, protocol: "TCP" }],
        },
      });
      assert.equal(res.status, 201, res.text);
      const ip = res.json.spec.clusterIP as string;
      assert.ok(ip);
      const kubernetes = (
        await h.api.request("GET", "/api/v1/namespaces/default/services/kubernetes")
      ).json;
      // Give the kubelet's Service informer a moment to see it.
      await new Promise((r) => setTimeout(r, 1500));
      await h.createPod("env-links", {
        containers: [
          {
            name: "app",
            image: IMAGE,
            command: ["sleep", "3600"],
            env: [{ name: "WEB_FRONT_SERVICE_PORT", value: "mine" }],
          },
        ],
      });
      await h.createPod("env-nolinks", {
        enableServiceLinks: false,
        containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
      });
      const envOf = async (name: string) => {
        const pod: Pod = await h.waitPod(name, (p) => p.status?.phase === "Running");
        const id = containerStatus(pod, "app").containerID.replace("docker://", "");
        const session = await h.runtime.exec(id, { command: ["env"] });
        const [out] = await Promise.all([readAll(session.stdout), session.exitCode]);
        session.stderr?.resume();
        return Object.fromEntries(
          out
            .trim()
            .split("\n")
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
        );
      };
      const env = await envOf("env-links");
      assert.equal(env.WEB_FRONT_SERVICE_HOST, ip);
      assert.equal(env.WEB_FRONT_SERVICE_PORT, "mine");
      assert.equal(env.WEB_FRONT_SERVICE_PORT_HTTP, "8080");
      assert.equal(env.WEB_FRONT_PORT, `tcp://${ip}:8080`);
      assert.equal(env.WEB_FRONT_PORT_8080_TCP_ADDR, ip);
      assert.equal(env.WEB_FRONT_PORT_8080_TCP_PROTO, "tcp");
      assert.equal(env.KUBERNETES_SERVICE_HOST, kubernetes.spec.clusterIP);
      const without = await envOf("env-nolinks");
      assert.equal(without.KUBERNETES_SERVICE_HOST, kubernetes.spec.clusterIP);
      assert.equal(without.WEB_FRONT_SERVICE_HOST, undefined);
    });

    test("/stats/summary shows the node and the running pod's cpu, memory and network", async () => {
      await h.runningPod("measured", [
        "sh",
        "-c",
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; sleep 3600",
      ]);
      const pod = await waitFor("the pod in the summary", async () => {
        const res = await kubeletGet("/stats/summary");
        assert.equal(res.status, 200);
        const summary = JSON.parse(res.body) as Pod;
        const p = summary.pods.find((x: Pod) => x.podRef.name === "measured");
        return p?.memory?.workingSetBytes > 0 ? { summary, p } : undefined;
      });
      const { summary, p } = pod;
      assert.equal(p.podRef.namespace, "default");
      assert.ok(p.cpu.usageCoreNanoSeconds > 0, JSON.stringify(p.cpu));
      assert.ok(p.network && typeof p.network.rxBytes === "number", JSON.stringify(p.network));
      const app = p.containers.find((c: Pod) => c.name === "app");
      assert.ok(app.startTime);
      assert.ok(app.memory.workingSetBytes > 0);
      assert.ok(app.cpu.usageCoreNanoSeconds > 0);
      assert.equal(summary.node.nodeName, h.nodeName);
      assert.ok(summary.node.cpu.usageCoreNanoSeconds > 0);
      assert.ok(summary.node.memory.workingSetBytes > 0);
      assert.ok(summary.node.memory.availableBytes > 0);
      assert.ok(summary.node.network.interfaces.length > 0);
      // A look a second later has a rate for the node.
      await new Promise((r) => setTimeout(r, 1100));
      const again = JSON.parse((await kubeletGet("/stats/summary")).body) as Pod;
      const nanoCores = again.node.cpu.usageNanoCores;
      assert.equal(typeof nanoCores, "number");
      // At most every core busy (with slack for /proc/stat's 10 ms ticks).
      assert.ok(nanoCores >= 0 && nanoCores <= cpus().length * 1.1e9, `${nanoCores}`);

      // The same through the apiserver's nodes/{name}/proxy, as `kubectl get --raw` reads it.
      const proxied = await h.api.request("GET", `/api/v1/nodes/${h.nodeName}/proxy/stats/summary`);
      assert.equal(proxied.status, 200);
      const viaApi = proxied.json as Pod;
      assert.equal(viaApi.node.nodeName, h.nodeName);
      assert.ok(viaApi.pods.some((x: Pod) => x.podRef.name === "measured"));
      const missing = await h.api.request("GET", `/api/v1/nodes/${h.nodeName}/proxy/no-such-path`);
      assert.equal(missing.status, 404, "the kubelet's own status code comes through");
    });
  },
);

// The Docker runtime against the real engine on this machine. Every container and network
// made here carries `io.skiff.test=<run id>` and is removed by that label afterwards.
import { execFileSync } from "node:child_process";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { hostname } from "node:os";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { hashContainer } from "../src/container-hash.js";
import { ImageNotFoundError, ImagePullError, PodNetworkConflictError } from "../src/errors.js";
import { DockerRuntime } from "../src/runtime/docker.js";
import { readAll } from "../src/runtime/streams.js";
import {
  LABEL_ATTEMPT,
  LABEL_HASH,
  LABEL_POD_UID,
  LABEL_TYPE,
  type PodRef,
  type SandboxConfig,
} from "../src/runtime/runtime.js";
import type { Container } from "@skiff/api";

const IMAGE = "skiff.local/busybox:1.36";
const runId = randomBytes(4).toString("hex");
const ownerLabels = { "io.skiff.test": runId };
const networkName = `skiff-test-${runId}`;
// A test podCIDR inside the cluster CIDR 10.244.0.0/16, varied so concurrent runs do not clash:
// 10.244.240–249 (the kubelet harness uses 100–219, its benchmark 220–239, the kube-proxy
// tests 251 and 252).
const octet = 240 + (parseInt(runId.slice(0, 2), 16) % 9);
const podCIDR = `10.244.${octet}.0/24`;
const otherCIDR = `10.244.${octet + 1}.0/24`;
// Fictitious cluster DNS: set so Docker never picks a server itself; nothing queries it.
const dns = {
  servers: ["10.96.0.10"],
  searches: ["default.svc.cluster.local"],
  options: ["ndots:5"],
};

const rt = new DockerRuntime({ networkName, ownerLabels });

function newPod(name: string): PodRef {
  return { uid: randomUUID(), namespace: "default", name };
}

function sandboxConfig(pod: PodRef, extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    pod,
    attempt: 0,
    hostname: pod.name,
    hostNetwork: false,
    dns,
    portMappings: [],
    ...extra,
  };
}

async function runContainer(pod: PodRef, sandboxId: string, container: Container, attempt = 0) {
  const id = await rt.createContainer({
    pod,
    sandboxId,
    container,
    attempt,
    hash: hashContainer(container),
    env: [{ name: "GREETING", value: "hello from env" }],
    mounts: [],
  });
  await rt.startContainer(id);
  return id;
}

async function waitExit(id: string): Promise<number> {
  const res = (await rt.docker.getContainer(id).wait()) as { StatusCode: number };
  return res.StatusCode;
}

async function statusOf(id: string) {
  const found = (await rt.listContainers()).find((c) => c.id === id);
  assert.ok(found, `container ${id} is listed`);
  return found;
}

async function execText(id: string, command: string[]) {
  const session = await rt.exec(id, { command });
  const [out, code] = await Promise.all([readAll(session.stdout), session.exitCode]);
  return { out, code };
}

async function readUntil(stream: Readable, pattern: RegExp, ms = 10_000): Promise<string> {
  let text = "";
  const timer = setTimeout(
    () => stream.destroy(new Error(`timed out; got ${JSON.stringify(text)}`)),
    ms,
  );
  try {
    for await (const chunk of stream) {
      text += String(chunk);
      if (pattern.test(text)) break;
    }
  } finally {
    clearTimeout(timer);
    stream.destroy();
  }
  return text;
}

async function cleanup() {
  const filters = { label: [`io.skiff.test=${runId}`] };
  const containers = await rt.docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) => rt.docker.getContainer(c.Id).remove({ force: true, v: true })),
  );
  const networks = await rt.docker.listNetworks({ filters });
  for (const n of networks) await rt.docker.getNetwork(n.Id).remove();
}

describe("DockerRuntime on the real engine", { timeout: 180_000 }, () => {
  before(async () => {
    await cleanup();
  });
  after(async () => {
    await cleanup();
  });

  test("the pod network has exactly the given subnet, gateway its first address", async () => {
    const first = await rt.ensurePodNetwork({ subnet: podCIDR });
    assert.equal(first.subnet, podCIDR);
    assert.equal(first.gateway, `10.244.${octet}.1`);
    const detail = (await rt.docker.getNetwork(first.id).inspect()) as {
      IPAM: { Config: { Subnet: string; Gateway: string }[] };
      Labels: Record<string, string>;
    };
    assert.deepEqual(detail.IPAM.Config, [{ Subnet: podCIDR, Gateway: `10.244.${octet}.1` }]);
    assert.equal(detail.Labels["io.skiff.test"], runId);
    // Asking again keeps the same network; another subnet recreates it while no pod uses it.
    assert.equal((await rt.ensurePodNetwork({ subnet: podCIDR })).id, first.id);
    const moved = await rt.ensurePodNetwork({ subnet: otherCIDR });
    assert.notEqual(moved.id, first.id);
    assert.equal(moved.subnet, otherCIDR);
    await rt.ensurePodNetwork({ subnet: podCIDR });
  });

  test("the pod network as the kubelet asks for it: no engine masquerade, the given MTU", async () => {
    const options = async (id: string) =>
      ((await rt.docker.getNetwork(id).inspect()) as { Options: Record<string, string> }).Options;
    const net = await rt.ensurePodNetwork({ subnet: podCIDR, ipMasquerade: false, mtu: 1450 });
    assert.deepEqual(await options(net.id), {
      "com.docker.network.bridge.enable_ip_masquerade": "false",
      "com.docker.network.driver.mtu": "1450",
    });
    // Docker's own MASQUERADE rule for the subnet is absent: skiff-net decides what leaves.
    const nat = execFileSync("iptables", ["-t", "nat", "-S", "POSTROUTING"], { encoding: "utf8" });
    assert.doesNotMatch(nat, new RegExp(`-s ${podCIDR.replace(/[./]/g, "\\$&")} .*MASQUERADE`));
    // The same request keeps it; another MTU recreates it while no pod uses it.
    assert.equal(
      (await rt.ensurePodNetwork({ subnet: podCIDR, ipMasquerade: false, mtu: 1450 })).id,
      net.id,
    );
    const other = await rt.ensurePodNetwork({ subnet: podCIDR, ipMasquerade: false, mtu: 1400 });
    assert.notEqual(other.id, net.id);
    assert.equal((await options(other.id))["com.docker.network.driver.mtu"], "1400");
    await rt.ensurePodNetwork({ subnet: podCIDR });
  });

  test("two containers of a pod reach each other on localhost; the pod gets its IP, hostname and DNS", async () => {
    const pod = newPod("web");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const server = await runContainer(pod, sandboxId, {
      name: "server",
      image: IMAGE,
      command: ["sh", "-c"],
      args: [
        'mkdir -p /www && echo "$GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www',
      ],
    });
    const client = await runContainer(pod, sandboxId, {
      name: "client",
      image: IMAGE,
      args: [
        "sh",
        "-c",
        "for i in $(seq 50); do wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1",
      ],
    });
    assert.equal(await waitExit(client), 0);
    const logs = await readAll(await rt.containerLogs(pod, "client"));
    assert.equal(logs, "hello from env\n");

    const [sandbox] = await rt.listPodSandboxes({ podUid: pod.uid });
    assert.ok(sandbox);
    assert.equal(sandbox.state, "ready");
    assert.match(sandbox.ip ?? "", new RegExp(`^10\\.244\\.${octet}\\.\\d+$`));
    assert.deepEqual(await execText(server, ["hostname"]), { out: "web\n", code: 0 });
    const resolv = await execText(server, ["cat", "/etc/resolv.conf"]);
    assert.match(resolv.out, /^nameserver 10\.96\.0\.10$/m);
    assert.match(resolv.out, /^search default\.svc\.cluster\.local$/m);
    assert.match(resolv.out, /^options ndots:5$/m);
    assert.doesNotMatch(resolv.out, /8\.8\.8\.8/);

    // The network cannot move to another subnet while this pod uses it.
    await assert.rejects(rt.ensurePodNetwork({ subnet: otherCIDR }), PodNetworkConflictError);
  });

  test("a fresh runtime rebuilds pods from Docker's labels alone", async () => {
    const pod = newPod("adopted");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod, { attempt: 2 }));
    const spec: Container = { name: "app", image: IMAGE, command: ["sleep", "300"] };
    const appId = await runContainer(pod, sandboxId, spec, 3);

    const fresh = new DockerRuntime({ networkName, ownerLabels });
    const sandboxes = await fresh.listPodSandboxes({ podUid: pod.uid });
    assert.equal(sandboxes.length, 1);
    assert.equal(sandboxes[0]?.id, sandboxId);
    assert.deepEqual(sandboxes[0]?.pod, pod);
    assert.equal(sandboxes[0]?.attempt, 2);
    assert.equal(sandboxes[0]?.hostNetwork, false);
    const containers = await fresh.listContainers({ podUid: pod.uid });
    assert.equal(containers.length, 1);
    const app = containers[0];
    assert.ok(app);
    assert.equal(app.id, appId);
    assert.equal(app.name, "app");
    assert.equal(app.attempt, 3);
    assert.equal(app.hash, hashContainer(spec));
    assert.equal(app.state, "running");
    assert.equal(app.image, IMAGE);
    assert.match(app.imageID, /sha256:[0-9a-f]{64}$/);
    assert.ok(app.startedAt && !Number.isNaN(Date.parse(app.startedAt)));
    assert.equal(app.labels[LABEL_POD_UID], pod.uid);
    assert.equal(app.labels[LABEL_ATTEMPT], "3");
    assert.equal(app.labels[LABEL_HASH], hashContainer(spec));
    assert.equal(app.labels[LABEL_TYPE], "container");

    // Names follow skiff_<container>_<pod>_<ns>_<uid8>_<attempt>.
    const detail = await rt.docker.getContainer(appId).inspect();
    assert.equal(detail.Name, `/skiff_app_adopted_default_${pod.uid.slice(0, 8)}_3`);

    // The relist's cheap list: both objects, their pod and the engine's state, no inspect.
    const states = async () =>
      (await fresh.listStates())
        .filter((o) => o.podUid === pod.uid)
        .sort((a, b) => a.id.localeCompare(b.id));
    const both = [sandboxId, appId].sort();
    assert.deepEqual(
      await states(),
      both.map((id) => ({ id, podUid: pod.uid, state: "running" })),
    );

    // The sandbox stops at once: docker-init passes SIGTERM on to sleep.
    const started = Date.now();
    await rt.stopContainer(appId, 0);
    await rt.stopPodSandbox(sandboxId, 10);
    assert.ok(Date.now() - started < 5_000, `sandbox stop took ${Date.now() - started} ms`);
    const [stopped] = await fresh.listPodSandboxes({ podUid: pod.uid });
    assert.equal(stopped?.state, "notready");
    assert.equal(stopped?.ip, undefined);
    assert.deepEqual(
      await states(),
      both.map((id) => ({ id, podUid: pod.uid, state: "exited" })),
    );
  });

  test("stop honours a SIGTERM handler and kills a container that ignores it after the grace period", async () => {
    const pod = newPod("graceful");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const polite = await runContainer(pod, sandboxId, {
      name: "polite",
      image: IMAGE,
      command: [
        "sh",
        "-c",
        "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.1; done",
      ],
    });
    const stubborn = await runContainer(pod, sandboxId, {
      name: "stubborn",
      image: IMAGE,
      command: ["sh", "-c", "trap '' TERM; echo ready; while true; do sleep 0.1; done"],
    });
    await readUntil(await rt.containerLogs(pod, "polite", { follow: true }), /ready/);
    await readUntil(await rt.containerLogs(pod, "stubborn", { follow: true }), /ready/);

    let t = Date.now();
    await rt.stopContainer(polite, 10);
    assert.ok(Date.now() - t < 3_000, `polite stop took ${Date.now() - t} ms`);
    const p = await statusOf(polite);
    assert.equal(p.exitCode, 0);
    assert.equal(p.reason, "Completed");
    assert.match(await readAll(await rt.containerLogs(pod, "polite")), /bye/);

    t = Date.now();
    await rt.stopContainer(stubborn, 2);
    const took = Date.now() - t;
    assert.ok(took >= 1_900 && took < 6_000, `stubborn stop took ${took} ms`);
    const s = await statusOf(stubborn);
    assert.equal(s.exitCode, 137);
    assert.equal(s.reason, "Error");
    assert.equal(s.oomKilled, false);
    // Stopping what is already stopped is not an error.
    await rt.stopContainer(stubborn, 2);
  });

  test("exit codes, OOMKilled for a memory limit, and the cgroup limits Kubernetes asks for", async () => {
    const pod = newPod("limits");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const failing = await runContainer(pod, sandboxId, {
      name: "fails",
      image: IMAGE,
      command: ["sh", "-c", "exit 3"],
    });
    const hog = await runContainer(pod, sandboxId, {
      name: "hog",
      image: IMAGE,
      command: ["sh", "-c", 'x=a; while true; do x="$x$x"; done'],
      resources: { limits: { memory: "16Mi" } },
    });
    assert.equal(await waitExit(failing), 3);
    const f = await statusOf(failing);
    assert.deepEqual([f.state, f.exitCode, f.reason], ["exited", 3, "Error"]);
    // Only both present: for a process that exits at once, Docker may record a FinishedAt
    // (from the exit itself) a hair before the StartedAt it notes after starting it.
    assert.ok(f.startedAt && f.finishedAt, "startedAt and finishedAt are set");
    assert.ok(Math.abs(Date.parse(f.finishedAt) - Date.parse(f.startedAt)) < 10_000);

    assert.equal(await waitExit(hog), 137);
    // Docker may record the OOM kill a moment after the exit: the status catches up.
    let h = await statusOf(hog);
    for (let i = 0; i < 50 && !h.oomKilled; i++) {
      await new Promise((r) => setTimeout(r, 100));
      h = await statusOf(hog);
    }
    assert.deepEqual([h.exitCode, h.oomKilled, h.reason], [137, true, "OOMKilled"]);

    const limited = await runContainer(pod, sandboxId, {
      name: "limited",
      image: IMAGE,
      command: ["sleep", "300"],
      resources: { limits: { cpu: "500m", memory: "64Mi" }, requests: { cpu: "250m" } },
      securityContext: {
        runAsUser: 65534,
        runAsGroup: 65534,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["NET_RAW"] },
      },
    });
    const read = (file: string) => execText(limited, ["cat", file]).then((r) => r.out.trim());
    assert.equal(await read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"), "50000");
    assert.equal(await read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"), "100000");
    assert.equal(await read("/sys/fs/cgroup/cpu/cpu.shares"), "256");
    assert.equal(
      await read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
      String(64 * 1024 * 1024),
    );
    assert.deepEqual(await execText(limited, ["id", "-u"]), { out: "65534\n", code: 0 });
    const touch = await execText(limited, ["touch", "/x"]);
    assert.notEqual(touch.code, 0, "the root filesystem is read-only");

    // Privileged: every capability the engine can grant (see privilegesOf for why not --privileged).
    const privileged = await runContainer(pod, sandboxId, {
      name: "privileged",
      image: IMAGE,
      command: ["sleep", "300"],
      securityContext: { privileged: true },
    });
    const caps = await execText(privileged, ["grep", "CapEff", "/proc/self/status"]);
    assert.match(caps.out, /CapEff:\s+0000003ffeffffff/);
  });

  test("logs show the newest instance, the previous one on request, with tail and timestamps", async () => {
    const pod = newPod("logger");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const spec = (text: string): Container => ({
      name: "app",
      image: IMAGE,
      command: ["sh", "-c", text],
    });
    // Docker copies stdout and stderr separately: the pause keeps their order certain.
    const first = await runContainer(
      pod,
      sandboxId,
      spec("echo first-run; sleep 0.2; echo to-stderr >&2; exit 1"),
      0,
    );
    assert.equal(await waitExit(first), 1);
    await runContainer(
      pod,
      sandboxId,
      spec("echo second-run; echo line2; echo line3; sleep 300"),
      1,
    );

    const current = await readUntil(await rt.containerLogs(pod, "app", { follow: true }), /line3/);
    assert.equal(current, "second-run\nline2\nline3\n");
    assert.equal(
      await readAll(await rt.containerLogs(pod, "app", { previous: true })),
      "first-run\nto-stderr\n",
    );
    assert.equal(await readAll(await rt.containerLogs(pod, "app", { tailLines: 1 })), "line3\n");
    const stamped = await readAll(
      await rt.containerLogs(pod, "app", { timestamps: true, tailLines: 1 }),
    );
    assert.match(stamped, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line3\n$/);
    assert.equal(
      await readAll(
        await rt.containerLogs(pod, "app", {
          sinceTime: new Date(Date.now() + 60_000).toISOString(),
        }),
      ),
      "",
    );
  });

  test("exec passes stdin, keeps stdout and stderr apart, returns the exit code; a TTY can be resized", async () => {
    const pod = newPod("exec");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const id = await runContainer(pod, sandboxId, {
      name: "app",
      image: IMAGE,
      command: ["sleep", "300"],
    });

    const session = await rt.exec(id, {
      command: ["sh", "-c", "read x; echo got-$x; echo oops >&2; exit 7"],
      stdin: true,
    });
    assert.ok(session.stdin && session.stderr);
    session.stdin.end("hi\n");
    const [out, err, code] = await Promise.all([
      readAll(session.stdout),
      readAll(session.stderr),
      session.exitCode,
    ]);
    assert.deepEqual({ out, err, code }, { out: "got-hi\n", err: "oops\n", code: 7 });

    const tty = await rt.exec(id, { command: ["sh"], stdin: true, tty: true });
    assert.equal(tty.stderr, null);
    await tty.resize(100, 40);
    tty.stdin?.write("stty size; exit 5\n");
    const [ttyOut, ttyCode] = await Promise.all([readAll(tty.stdout), tty.exitCode]);
    assert.match(ttyOut, /40 100/);
    assert.equal(ttyCode, 5);
  });

  test("pulls from the local registry; a missing image and an unreachable registry fail differently", async () => {
    const id = await rt.pullImage("127.0.0.1:5000/skiff/busybox:1.36");
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.equal(await rt.imageStatus("127.0.0.1:5000/skiff/busybox:1.36"), id);
    assert.equal(await rt.imageStatus("127.0.0.1:5000/skiff/absent:1"), undefined);
    await assert.rejects(rt.pullImage(`127.0.0.1:5000/skiff/absent-${runId}:1`), (err: unknown) => {
      assert.ok(err instanceof ImageNotFoundError, String(err));
      assert.equal(err.reason, "ErrImagePull");
      return true;
    });
    // Nothing listens on loopback port 1.
    await assert.rejects(rt.pullImage("127.0.0.1:1/skiff/busybox:1.36"), (err: unknown) => {
      assert.ok(err instanceof ImagePullError && !(err instanceof ImageNotFoundError), String(err));
      return true;
    });
  });

  test("a hostPort on loopback reaches the pod", async () => {
    const port = await freePort();
    const pod = newPod("hostport");
    const sandboxId = await rt.runPodSandbox(
      sandboxConfig(pod, {
        portMappings: [
          { containerPort: 8080, hostPort: port, hostIP: "127.0.0.1", protocol: "TCP" },
        ],
      }),
    );
    await runContainer(pod, sandboxId, {
      name: "server",
      image: IMAGE,
      command: [
        "sh",
        "-c",
        "mkdir -p /www && echo via-hostport > /www/index.html && exec httpd -f -p 8080 -h /www",
      ],
      ports: [{ containerPort: 8080, hostPort: port }],
    });
    let body = "";
    for (let i = 0; i < 50 && body === ""; i++) {
      body = await get(`http://127.0.0.1:${port}/`).catch(() => "");
      if (body === "") await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(body, "via-hostport\n");
  });

  test("events report start, oom and die with the exit code; stats report cpu, memory and network", async () => {
    const pod = newPod("events");
    const abort = new AbortController();
    const seen: string[] = [];
    const collecting = (async () => {
      for await (const e of rt.events(abort.signal)) {
        if (e.pod?.uid !== pod.uid) continue;
        seen.push(
          `${e.kind}/${e.containerName}/${e.type}${e.exitCode === undefined ? "" : `:${e.exitCode}`}`,
        );
        if (seen.includes("container/short/die:4") && seen.includes("container/hog/die:137")) {
          abort.abort();
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod));
    const busy = await runContainer(pod, sandboxId, {
      name: "busy",
      image: IMAGE,
      command: ["sh", "-c", "while true; do :; done"],
      resources: { limits: { cpu: "100m", memory: "32Mi" } },
    });
    await runContainer(pod, sandboxId, {
      name: "short",
      image: IMAGE,
      command: ["sh", "-c", "sleep 0.2; exit 4"],
    });
    await runContainer(pod, sandboxId, {
      name: "hog",
      image: IMAGE,
      command: ["sh", "-c", 'x=a; while true; do x="$x$x"; done'],
      resources: { limits: { memory: "16Mi" } },
    });
    const timer = setTimeout(() => abort.abort(), 15_000);
    await collecting;
    clearTimeout(timer);
    assert.deepEqual(
      seen.filter((s) => s.startsWith("container/short")),
      ["container/short/start", "container/short/die:4"],
    );
    assert.deepEqual(
      seen.filter((s) => s.startsWith("container/hog")),
      ["container/hog/start", "container/hog/oom", "container/hog/die:137"],
    );
    assert.ok(seen.includes("sandbox/POD/start"));

    await rt.containerStats(busy);
    await new Promise((r) => setTimeout(r, 500));
    const stats = await rt.containerStats(busy);
    assert.ok(stats.cpu.usageCoreNanoSeconds > 0);
    // Limited to 100m: well under one core even while spinning.
    assert.ok(
      stats.cpu.usageNanoCores !== undefined && stats.cpu.usageNanoCores < 300_000_000,
      String(stats.cpu.usageNanoCores),
    );
    assert.ok(stats.memory.workingSetBytes > 0);
    assert.equal(stats.memory.limitBytes, 32 * 1024 * 1024);
    const sandboxStats = await rt.containerStats(sandboxId);
    assert.ok(sandboxStats.network && sandboxStats.network.txBytes >= 0);
  });

  test("a host-network pod shares the node's network and hostname and still gets the pod's DNS", async () => {
    const pod = newPod("hostnet");
    const sandboxId = await rt.runPodSandbox(sandboxConfig(pod, { hostNetwork: true }));
    const id = await runContainer(pod, sandboxId, {
      name: "app",
      image: IMAGE,
      command: ["sleep", "300"],
    });
    const [sandbox] = await rt.listPodSandboxes({ podUid: pod.uid });
    assert.equal(sandbox?.hostNetwork, true);
    assert.equal(sandbox?.ip, undefined);
    assert.deepEqual(await execText(id, ["hostname"]), { out: `${hostname()}\n`, code: 0 });
    assert.match(
      (await execText(id, ["cat", "/etc/resolv.conf"])).out,
      /^nameserver 10\.96\.0\.10$/m,
    );
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => readAll(res).then(resolve, reject)).on("error", reject);
  });
}

// The kubelet against a real apiserver and the real Docker engine: node registration, the pod
// network, and pods from creation to deletion. Everything made here carries the run's label.
// Over 600 lines on purpose: its 18 tests share one apiserver, kubelet and pod network (set up
// once in `before`); the lifecycle and debug suites beside it are the other rooms.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { KUBECTL_VERSIONS, runKubectl } from "@skiff/testing";
import { LABEL_POD_UID } from "../src/runtime/runtime.js";
import {
  IMAGE,
  assignPodCIDR,
  containerStatus,
  startHarness,
  waitFor,
  type Harness,
  type Pod,
} from "./harness.js";

let h: Harness;
/** The pod "early" as it was before the node had a podCIDR. */
let earlyBeforeCIDR: Pod;

describe("kubelet on the real engine", { timeout: 600_000 }, () => {
  before(async () => {
    h = await startHarness();
    await h.startKubelet();
    // Every test needs the node's podCIDR, so it is set here; the pod made before it shows
    // (in the test on podCIDRs) how pods wait for it.
    await h.createPod("early", {
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
    });
    await new Promise((r) => setTimeout(r, 1500));
    earlyBeforeCIDR = await h.getPod("early");
    await assignPodCIDR(h);
  });
  after(async () => {
    await h?.cleanup();
  });

  test("the node registers with capacity, addresses, node info, labels, a Ready condition and a lease", async () => {
    const node = (await h.api.request("GET", `/api/v1/nodes/${h.nodeName}`)).json;
    assert.equal(node.metadata.labels["kubernetes.io/hostname"], h.nodeName);
    assert.equal(node.metadata.labels["kubernetes.io/os"], "linux");
    assert.ok(node.metadata.labels["kubernetes.io/arch"]);
    assert.equal(node.status.capacity.pods, "110");
    assert.ok(Number(node.status.capacity.cpu) >= 1);
    assert.match(node.status.capacity.memory, /^\d+Ki$/);
    assert.match(node.status.capacity["ephemeral-storage"], /^\d+Ki$/);
    assert.deepEqual(node.status.addresses, [
      { type: "InternalIP", address: "127.0.0.1" },
      { type: "Hostname", address: h.nodeName },
    ]);
    assert.match(node.status.nodeInfo.containerRuntimeVersion, /^docker:\/\/\d+/);
    assert.equal(node.status.nodeInfo.kubeletVersion, "v1.31.0-skiff");
    assert.equal(node.status.daemonEndpoints.kubeletEndpoint.Port, h.port);
    const types = node.status.conditions.map((c: { type: string }) => c.type).sort();
    assert.deepEqual(types, ["DiskPressure", "MemoryPressure", "PIDPressure", "Ready"]);
    const ready = node.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "True");
    const lease = await h.api.request(
      "GET",
      `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${h.nodeName}`,
    );
    assert.equal(lease.status, 200);
    assert.equal(lease.json.spec.holderIdentity, h.nodeName);
  });

  test("pods wait for the node's podCIDR, then get an IP from exactly that subnet", async () => {
    assert.notEqual(earlyBeforeCIDR.status?.phase, "Running");
    assert.equal(earlyBeforeCIDR.status?.podIP, undefined);
    const pod = await h.waitPod("early", (p) => p.status?.phase === "Running");
    const prefix = h.podCIDR.replace(/0\/24$/, "");
    assert.ok(pod.status.podIP.startsWith(prefix), `${pod.status.podIP} in ${h.podCIDR}`);
    assert.deepEqual(pod.status.podIPs, [{ ip: pod.status.podIP }]);
    assert.equal(pod.status.hostIP, "127.0.0.1");
    assert.equal(pod.status.qosClass, "BestEffort");
    const cs = containerStatus(pod, "app");
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.match(cs.containerID, /^docker:\/\/[0-9a-f]{64}$/);
    assert.ok(cs.state.running.startedAt);
    const ready = pod.status.conditions.find((c: { type: string }) => c.type === "Ready");
    assert.equal(ready.status, "True");
    const reasons = (await h.events("early")).map((e) => e.reason);
    for (const r of ["Pulled", "Created", "Started"])
      assert.ok(reasons.includes(r), `${r} in ${reasons}`);
  });

  test("two containers of a pod reach each other on localhost, with env from a ConfigMap and a Secret", async () => {
    await h.api.request("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "settings" },
      data: { MODE: "fast", COLOR: "blue" },
    });
    await h.api.request("POST", "/api/v1/namespaces/default/secrets", {
      metadata: { name: "creds" },
      data: { PASSWORD: Buffer.from("s3cret").toString("base64") },
    });
    await h.createPod("pair", {
      restartPolicy: "Never",
      containers: [
        {
          name: "server",
          image: IMAGE,
          command: [
            "sh",
            "-c",
            "echo hello-from-server > /tmp/index.html; httpd -f -p 8080 -h /tmp",
          ],
        },
        {
          name: "client",
          image: IMAGE,
          command: [
            "sh",
            "-c",
            'for i in $(seq 50); do wget -qO- http://127.0.0.1:8080/index.html && break; sleep 0.2; done; echo "$MODE $PASSWORD $POD_NAME $OPT_COLOR"; sleep 3600',
          ],
          env: [
            { name: "MODE", valueFrom: { configMapKeyRef: { name: "settings", key: "MODE" } } },
            { name: "PASSWORD", valueFrom: { secretKeyRef: { name: "creds", key: "PASSWORD" } } },
            { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
          ],
          envFrom: [{ prefix: "OPT_", configMapRef: { name: "settings" } }],
        },
      ],
    });
    const pod = await h.waitPod("pair", (p) => p.status?.phase === "Running");
    const logs = await waitFor("client output", async () => {
      const stream = await h.runtime.containerLogs(
        { uid: pod.metadata.uid, namespace: "default", name: "pair" },
        "client",
      );
      let text = "";
      for await (const chunk of stream) text += String(chunk);
      return text.includes("fast") ? text : undefined;
    });
    assert.match(logs, /hello-from-server/);
    assert.match(logs, /fast s3cret pair blue/);
  });

  test("init containers run in order before the app, which sees their work in an emptyDir", async () => {
    await h.createPod("init", {
      restartPolicy: "Never",
      volumes: [{ name: "work", emptyDir: {} }],
      initContainers: [
        {
          name: "one",
          image: IMAGE,
          command: ["sh", "-c", "echo one >> /work/log"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        },
        {
          name: "two",
          image: IMAGE,
          command: ["sh", "-c", "echo two >> /work/log"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        },
      ],
      containers: [
        {
          name: "app",
          image: IMAGE,
          command: ["sh", "-c", "test \"$(cat /work/log | tr '\\n' ' ')\" = 'one two '"],
          volumeMounts: [{ name: "work", mountPath: "/work" }],
        },
      ],
    });
    const pod = await h.waitPod(
      "init",
      (p) => p.status?.phase === "Succeeded" || p.status?.phase === "Failed",
    );
    assert.equal(pod.status.phase, "Succeeded", JSON.stringify(pod.status));
    for (const name of ["one", "two"]) {
      assert.equal(containerStatus(pod, name).state.terminated.exitCode, 0);
    }
    const initialized = pod.status.conditions.find(
      (c: { type: string }) => c.type === "Initialized",
    );
    assert.equal(initialized.status, "True");
  });

  test("a claim's volume is mounted once bound: the pod waits for the binding, then writes into the volume's directory", async () => {
    const claim = {
      metadata: { name: "data" },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    };
    await h.api.request("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim);
    await h.createPod("claims", {
      volumes: [{ name: "data", persistentVolumeClaim: { claimName: "data" } }],
      containers: [
        {
          name: "app",
          image: IMAGE,
          command: ["sh", "-c", "echo kept > /data/file; sleep 3600"],
          volumeMounts: [{ name: "data", mountPath: "/data" }],
        },
      ],
    });
    await waitFor("FailedMount while the claim is unbound", async () =>
      (await h.events("claims")).some(
        (e) =>
          e.reason === "FailedMount" && e.message === 'persistentvolumeclaim "data" is not bound',
      ),
    );
    assert.notEqual((await h.getPod("claims"))?.status?.phase, "Running");
    // Play the binder: a hostPath volume bound to the claim.
    const dir = `${h.rootDir}/pv-data`;
    await h.api.request("POST", "/api/v1/persistentvolumes", {
      metadata: { name: "pv-data" },
      spec: {
        capacity: { storage: "1Gi" },
        accessModes: ["ReadWriteOnce"],
        hostPath: { path: dir, type: "DirectoryOrCreate" },
        claimRef: { namespace: "default", name: "data" },
      },
    });
    const pvc = (
      await h.api.request("GET", "/api/v1/namespaces/default/persistentvolumeclaims/data")
    ).json;
    pvc.spec.volumeName = "pv-data";
    const bound = (
      await h.api.request("PUT", "/api/v1/namespaces/default/persistentvolumeclaims/data", pvc)
    ).json;
    bound.status = { phase: "Bound", accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" } };
    await h.api.request(
      "PUT",
      "/api/v1/namespaces/default/persistentvolumeclaims/data/status",
      bound,
    );
    await h.waitPod("claims", (p) => p.status?.phase === "Running", 60_000);
    const { readFileSync } = await import("node:fs");
    await waitFor("the pod's write in the volume's directory", async () => {
      try {
        return readFileSync(`${dir}/file`, "utf8").trim() === "kept";
      } catch {
        return false;
      }
    });
  });

  test("volumes: configMap (following updates), secret, downwardAPI, hostPath and a projected service account token", async () => {
    await h.api.request("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "files" },
      data: { "greeting.txt": "v1" },
    });
    await h.api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
      metadata: { name: "runner" },
    });
    await h.createPod(
      "vols",
      {
        serviceAccountName: "runner",
        volumes: [
          { name: "cm", configMap: { name: "files" } },
          { name: "sec", secret: { secretName: "creds" } },
          {
            name: "down",
            downwardAPI: {
              items: [{ path: "labels", fieldRef: { fieldPath: "metadata.labels" } }],
            },
          },
          { name: "host", hostPath: { path: h.rootDir, type: "Directory" } },
          {
            name: "token",
            projected: {
              sources: [
                { serviceAccountToken: { path: "token", expirationSeconds: 3600 } },
                {
                  downwardAPI: {
                    items: [{ path: "namespace", fieldRef: { fieldPath: "metadata.namespace" } }],
                  },
                },
              ],
            },
          },
        ],
        containers: [
          {
            name: "app",
            image: IMAGE,
            command: ["sh", "-c", "echo from-pod > /host/marker; sleep 3600"],
            volumeMounts: [
              { name: "cm", mountPath: "/cm" },
              { name: "sec", mountPath: "/sec", readOnly: true },
              { name: "down", mountPath: "/down" },
              { name: "host", mountPath: "/host" },
              { name: "token", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
            ],
          },
        ],
      },
      { labels: { app: "vols" } },
    );
    const pod = await h.waitPod("vols", (p) => p.status?.phase === "Running");
    const containerId = containerStatus(pod, "app").containerID.replace("docker://", "");
    const sh = async (cmd: string) => {
      const session = await h.runtime.exec(containerId, { command: ["sh", "-c", cmd] });
      let out = "";
      for await (const chunk of session.stdout) out += String(chunk);
      await session.exitCode;
      return out.trim();
    };
    assert.equal(await sh("cat /cm/greeting.txt"), "v1");
    assert.equal(await sh("cat /sec/PASSWORD"), "s3cret");
    assert.equal(await sh("cat /down/labels"), 'app="vols"');
    const sa = "/var/run/secrets/kubernetes.io/serviceaccount";
    assert.equal(await sh(`cat ${sa}/namespace`), "default");
    assert.match(await sh(`cat ${sa}/token`), /^[\w-]+\.[\w-]+\.[\w-]+$/);
    const { readFileSync } = await import("node:fs");
    await waitFor(
      "hostPath write",
      async () => readFileSync(`${h.rootDir}/marker`, "utf8").trim() === "from-pod",
    );
    await h.api.request(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/files",
      { data: { "greeting.txt": "v2" } },
      { contentType: "application/merge-patch+json" },
    );
    await waitFor(
      "configMap update in the volume",
      async () => (await sh("cat /cm/greeting.txt")) === "v2",
      30_000,
    );
  });

  test("a failing liveness probe restarts the container, counting restarts and keeping lastState", async () => {
    await h.createPod("liveness", {
      containers: [
        {
          name: "app",
          image: IMAGE,
          command: ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 3600"],
          livenessProbe: {
            exec: { command: ["cat", "/tmp/healthy"] },
            periodSeconds: 1,
            failureThreshold: 2,
          },
        },
      ],
    });
    const pod = await h.waitPod(
      "liveness",
      (p) => containerStatus(p, "app")?.restartCount >= 1,
      90_000,
    );
    const cs = containerStatus(pod, "app");
    assert.ok(cs.lastState.terminated, JSON.stringify(cs));
    assert.equal(cs.lastState.terminated.reason, "Error");
    const reasons = (await h.events("liveness")).map((e) => e.reason);
    assert.ok(reasons.includes("Unhealthy"), String(reasons));
    assert.ok(reasons.includes("Killing"), String(reasons));
  });

  test("a readiness probe flips the Ready condition both ways", async () => {
    await h.createPod("readiness", {
      containers: [
        {
          name: "app",
          image: IMAGE,
          command: ["sh", "-c", "sleep 3600"],
          readinessProbe: {
            exec: { command: ["test", "-f", "/tmp/ready"] },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        },
      ],
    });
    const ready = (p: { status?: { conditions?: { type: string; status: string }[] } }) =>
      p.status?.conditions?.find((c) => c.type === "Ready")?.status;
    let pod = await h.waitPod("readiness", (p) => p.status?.phase === "Running");
    assert.equal(ready(pod), "False");
    const id = containerStatus(pod, "app").containerID.replace("docker://", "");
    const run = async (cmd: string[]) => (await h.runtime.exec(id, { command: cmd })).exitCode;
    await run(["touch", "/tmp/ready"]);
    pod = await h.waitPod("readiness", (p) => ready(p) === "True");
    assert.equal(containerStatus(pod, "app").ready, true);
    await run(["rm", "/tmp/ready"]);
    await h.waitPod("readiness", (p) => ready(p) === "False");
  });

  test("exit codes and OOMKilled show in the terminated state; restartPolicy Never ends in Failed", async () => {
    await h.createPod("exit3", {
      restartPolicy: "Never",
      containers: [{ name: "app", image: IMAGE, command: ["sh", "-c", "exit 3"] }],
    });
    await h.createPod("oom", {
      restartPolicy: "Never",
      containers: [
        {
          name: "app",
          image: IMAGE,
          // The second's wait matters: the engine learns of an OOM kill through a watcher that
          // containerd arms just after the start, and a process killed within ~100 ms of it
          // (this loop reaches 16 MiB that fast) can be gone before it is armed — then Docker
          // (and so Kubernetes on Docker) reports exit 137 "Error". Dmesg showed exactly that
          // in two full-suite runs.
          command: ["sh", "-c", "sleep 1; x=aaaaaaaaaaaaaaaa; while true; do x=$x$x; done"],
          resources: { limits: { memory: "16Mi", cpu: "500m" } },
        },
      ],
    });
    const exited = await h.waitPod("exit3", (p) => p.status?.phase === "Failed");
    const t = containerStatus(exited, "app").state.terminated;
    assert.equal(t.exitCode, 3);
    assert.equal(t.reason, "Error");
    // Docker may mark the OOM kill a moment after the exit: the status catches up.
    const oom = await h.waitPod(
      "oom",
      (p) =>
        p.status?.phase === "Failed" &&
        containerStatus(p, "app")?.state?.terminated?.reason === "OOMKilled",
      90_000,
    );
    assert.equal(containerStatus(oom, "app").state.terminated.exitCode, 137);
    assert.equal(oom.status.qosClass, "Guaranteed");
  });

  test("a crashing container goes into CrashLoopBackOff", async () => {
    await h.createPod("crash", {
      containers: [{ name: "app", image: IMAGE, command: ["sh", "-c", "exit 1"] }],
    });
    const pod = await h.waitPod(
      "crash",
      (p) => containerStatus(p, "app")?.state?.waiting?.reason === "CrashLoopBackOff",
    );
    const cs = containerStatus(pod, "app");
    assert.ok(cs.restartCount >= 1);
    assert.equal(cs.lastState.terminated.exitCode, 1);
    assert.ok((await h.events("crash")).some((e) => e.reason === "BackOff"));
  });

  test("deletion runs preStop, honours the grace period, and the pod disappears only when its containers are gone", async () => {
    await h.createPod("graceful", {
      terminationGracePeriodSeconds: 4,
      volumes: [{ name: "host", hostPath: { path: h.rootDir } }],
      containers: [
        {
          name: "app",
          image: IMAGE,
          // Ignores SIGTERM, so only SIGKILL at the end of the grace period stops it.
          command: ["sh", "-c", "trap '' TERM; while true; do sleep 1; done"],
          lifecycle: {
            preStop: { exec: { command: ["sh", "-c", "echo prestop > /host/prestop"] } },
          },
          volumeMounts: [{ name: "host", mountPath: "/host" }],
        },
      ],
    });
    const pod = await h.waitPod("graceful", (p) => p.status?.phase === "Running");
    const started = Date.now();
    const del = await h.api.request("DELETE", "/api/v1/namespaces/default/pods/graceful");
    assert.ok(del.status === 200 || del.status === 202, `DELETE answered ${del.status}`);
    await waitFor("pod gone", async () => (await h.getPod("graceful")) === undefined, 60_000);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 3500, `took ${elapsed} ms, grace period 4 s`);
    const { readFileSync } = await import("node:fs");
    assert.equal(readFileSync(`${h.rootDir}/prestop`, "utf8").trim(), "prestop");
    const left = await h.runtime.listContainers({ podUid: pod.metadata.uid });
    assert.ok(
      left.every((c) => c.state !== "running"),
      "no container of the pod still runs",
    );
  });

  test("a restarted kubelet adopts running containers and removes those of pods deleted meanwhile", async () => {
    await h.createPod("keeper", {
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
    });
    await h.createPod("goner", {
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
    });
    const before = await h.waitPod("keeper", (p) => p.status?.phase === "Running");
    const goner = await h.waitPod("goner", (p) => p.status?.phase === "Running");
    await h.stopKubelet();
    // Deleted for good while no kubelet watches (grace 0 removes the object at once).
    await h.api.request("DELETE", "/api/v1/namespaces/default/pods/goner", {
      gracePeriodSeconds: 0,
    });
    await h.startKubelet();
    await waitFor(
      "goner's containers removed",
      async () =>
        (await h.runtime.listContainers({ podUid: goner.metadata.uid })).length === 0 &&
        (await h.runtime.listPodSandboxes({ podUid: goner.metadata.uid })).length === 0,
      60_000,
    );
    await new Promise((r) => setTimeout(r, 3000));
    const after = await h.waitPod("keeper", (p) => p.status?.phase === "Running");
    const b = containerStatus(before, "app");
    const a = containerStatus(after, "app");
    assert.equal(a.containerID, b.containerID);
    assert.equal(a.restartCount, 0);
  });

  test("after a restart, a pod whose containers are gone is not Ready before its first sync", async () => {
    // An image only this pod uses, gone once the pod runs: its containers cannot come back,
    // so only the kubelet's start-up check can make its status true.
    const image = `skiff.local/kt-gone-${h.nodeName}:1`;
    await h.runtime.docker.getImage(IMAGE).tag({
      repo: image.split(":")[0]!,
      tag: "1",
    });
    await h.createPod("vanished", {
      containers: [{ name: "app", image, imagePullPolicy: "Never", command: ["sleep", "3600"] }],
    });
    const ready = await h.waitPod(
      "vanished",
      (p) => p.status?.conditions?.find((c: Pod) => c.type === "Ready")?.status === "True",
    );
    await h.stopKubelet();
    // What `make down` or an engine restart does: every container of the pod goes.
    const uid = ready.metadata.uid;
    const ids = await h.runtime.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL_POD_UID}=${uid}`] },
    });
    assert.ok(ids.length >= 2, "the pod had a sandbox and a container");
    await Promise.all(ids.map((c) => h.runtime.docker.getContainer(c.Id).remove({ force: true })));
    await h.runtime.docker.getImage(image).remove();
    assert.equal(
      (await h.getPod("vanished")).status.conditions.find((c: Pod) => c.type === "Ready").status,
      "True",
      "the API still shows it Ready while no kubelet runs",
    );
    await h.startKubelet();
    const now = await h.getPod("vanished");
    const cond = (t: string) => now.status.conditions.find((c: Pod) => c.type === t);
    assert.equal(cond("Ready").status, "False", JSON.stringify(now.status));
    assert.equal(cond("Ready").reason, "ContainersNotReady");
    assert.equal(cond("ContainersReady").status, "False");
    assert.equal(containerStatus(now, "app").ready, false);
    // And it stays so: its sync cannot bring the container back without the image.
    const later = await h.waitPod(
      "vanished",
      (p) => containerStatus(p, "app")?.state?.waiting?.reason === "ErrImageNeverPull",
    );
    assert.equal(later.status.conditions.find((c: Pod) => c.type === "Ready").status, "False");
  });

  test("an image is pulled from the local registry with imagePullPolicy Always", async () => {
    await h.createPod("pulled", {
      containers: [
        {
          name: "app",
          image: "127.0.0.1:5000/skiff/busybox:1.36",
          imagePullPolicy: "Always",
          command: ["sleep", "3600"],
        },
      ],
    });
    const pod = await h.waitPod("pulled", (p) => p.status?.phase === "Running", 120_000);
    assert.ok(containerStatus(pod, "app").imageID);
    const reasons = (await h.events("pulled")).map((e) => e.reason);
    assert.ok(reasons.includes("Pulling") && reasons.includes("Pulled"), String(reasons));
  });

  test("kubectl logs and kubectl exec reach the container through the apiserver and the kubelet", async () => {
    await h.runningPod("talk", ["sh", "-c", "echo line-one; echo line-two; sleep 3600"]);
    const kubectl = (args: string[], input?: string) => h.kubectl(args, input);
    const logs = await waitFor("logs", async () => {
      const r = await kubectl(["logs", "talk"]);
      return r.stdout.includes("line-two") ? r : undefined;
    });
    assert.equal(logs.stdout, "line-one\nline-two\n");
    const tail = await kubectl(["logs", "talk", "--tail=1"]);
    assert.equal(tail.stdout, "line-two\n");
    const ok = await kubectl(["exec", "talk", "--", "sh", "-c", "echo out; echo err >&2"]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "out\n");
    assert.match(ok.stderr, /err/);
    const piped = await kubectl(["exec", "-i", "talk", "--", "cat"], "from-stdin\n");
    assert.equal(piped.stdout, "from-stdin\n", piped.stderr);
    const failed = await kubectl(["exec", "talk", "--", "sh", "-c", "exit 3"]);
    assert.equal(failed.code, 3, failed.stderr);
  });

  test("every bundled kubectl (1.27 to 1.33) runs logs and exec, SPDY or WebSocket", async () => {
    // The pod of the test above. kubectl up to 1.29 streams exec over SPDY; 1.30 on asks for
    // WebSocket (v5.channel.k8s.io) first.
    await h.waitPod("talk", (p) => p.status?.phase === "Running");
    const cacheDir = mkdtempSync(join(tmpdir(), "skiff-kubectl-exec-"));
    try {
      for (const version of KUBECTL_VERSIONS) {
        const k = (args: string[], stdin?: string) =>
          runKubectl(version, ["--request-timeout=20s", ...args], {
            kubeconfig: h.api.kubeconfig,
            cacheDir: join(cacheDir, version),
            stdin,
          });
        const logs = await k(["logs", "talk", "--tail=1"]);
        assert.equal(logs.out, "line-two\n", `kubectl ${version} logs: ${logs.err}`);
        const ok = await k(["exec", "talk", "--", "sh", "-c", "echo out; echo err >&2"]);
        assert.equal(ok.code, 0, `kubectl ${version} exec: ${ok.err}`);
        assert.equal(ok.out, "out\n", `kubectl ${version} exec stdout`);
        assert.equal(ok.err, "err\n", `kubectl ${version} exec stderr`);
        const piped = await k(["exec", "-i", "talk", "--", "cat"], "from-stdin\n");
        assert.equal(piped.out, "from-stdin\n", `kubectl ${version} exec -i: ${piped.err}`);
        const failed = await k(["exec", "talk", "--", "sh", "-c", "exit 3"]);
        assert.equal(failed.code, 3, `kubectl ${version} exit code: ${failed.err}`);
        assert.equal(failed.err, "command terminated with exit code 3\n", `kubectl ${version}`);
      }
    } finally {
      rmSync(cacheDir, { recursive: true, force: true });
    }
  });

  test("the kubelet API: certificates and tokens authenticate, anonymous is 401, others 403", async () => {
    const { request } = await import("node:https");
    const { readFileSync } = await import("node:fs");
    const call = (path: string, who: { cert?: string; token?: string }) =>
      new Promise<{ code: number; body: string }>((resolve) => {
        const req = request(
          {
            host: "127.0.0.1",
            port: h.port,
            path,
            ...(who.cert
              ? {
                  cert: readFileSync(`${h.api.certDir}/${who.cert}.crt`),
                  key: readFileSync(`${h.api.certDir}/${who.cert}.key`),
                }
              : {}),
            headers: who.token ? { Authorization: `Bearer ${who.token}` } : {},
            rejectUnauthorized: false,
          },
          (res) => {
            let body = "";
            res.on("data", (c: Buffer) => (body += c.toString()));
            res.on("end", () => resolve({ code: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", () => resolve({ code: 0, body: "" }));
        req.end();
      });
    // A service account's token, which the kubelet checks with a TokenReview.
    await h.api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "kubelet-api-caller" },
    });
    const tr = await h.api.request(
      "POST",
      "/api/v1/namespaces/default/serviceaccounts/kubelet-api-caller/token",
      { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
    );
    const token = tr.json.status.token as string;
    // The apiserver's client and the admin are in system:masters.
    assert.equal((await call("/pods", { cert: "apiserver-kubelet-client" })).code, 200);
    assert.equal((await call("/stats/summary", { cert: "admin" })).code, 200);
    assert.deepEqual(await call("/pods", {}), { code: 401, body: "Unauthorized" });
    assert.deepEqual(await call("/pods", { token: "not-a-token" }), {
      code: 401,
      body: "Unauthorized",
    });
    assert.deepEqual(await call("/pods", { cert: "proxy" }), {
      code: 403,
      body: "Forbidden (user=system:kube-proxy, verb=get, resource=nodes, subresource=proxy)",
    });
    assert.deepEqual(await call("/stats/summary", { token }), {
      code: 403,
      body: "Forbidden (user=system:serviceaccount:default:kubelet-api-caller, verb=get, resource=nodes, subresource=stats)",
    });
    // RBAC decides through the SubjectAccessReview: an account bound to nodes/stats reads
    // stats and nothing else; one bound to system:kubelet-api-admin passes for nodes/log too
    // (a path this kubelet does not serve: 404, past authorization).
    const rbac = "/apis/rbac.authorization.k8s.io/v1";
    await h.api.request("POST", `${rbac}/clusterroles`, {
      metadata: { name: "kubelet-stats-reader" },
      rules: [{ apiGroups: [""], resources: ["nodes/stats"], verbs: ["get"] }],
    });
    const boundToken = async (account: string, role: string) => {
      await h.api.request("POST", "/api/v1/namespaces/default/serviceaccounts", {
        metadata: { name: account },
      });
      await h.api.request("POST", `${rbac}/clusterrolebindings`, {
        metadata: { name: account },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: role },
        subjects: [{ kind: "ServiceAccount", name: account, namespace: "default" }],
      });
      // The apiserver's RBAC cache holds the binding before the kubelet is asked (it would
      // remember an early denial for 30 s).
      await waitFor(`${account}'s binding`, async () => {
        const r = await h.api.request(
          "POST",
          "/apis/authorization.k8s.io/v1/subjectaccessreviews",
          {
            spec: {
              user: `system:serviceaccount:default:${account}`,
              resourceAttributes: {
                verb: "get",
                resource: "nodes",
                subresource: "stats",
                name: h.nodeName,
              },
            },
          },
        );
        return r.json?.status?.allowed === true;
      });
      const t = await h.api.request(
        "POST",
        `/api/v1/namespaces/default/serviceaccounts/${account}/token`,
        { apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", spec: {} },
      );
      return t.json.status.token as string;
    };
    const reader = await boundToken("kubelet-stats-reader", "kubelet-stats-reader");
    assert.equal((await call("/stats/summary", { token: reader })).code, 200);
    assert.deepEqual(await call("/logs/", { token: reader }), {
      code: 403,
      body: "Forbidden (user=system:serviceaccount:default:kubelet-stats-reader, verb=get, resource=nodes, subresource=log)",
    });
    assert.deepEqual(await call("/pods", { token: reader }), {
      code: 403,
      body: "Forbidden (user=system:serviceaccount:default:kubelet-stats-reader, verb=get, resource=nodes, subresource=proxy)",
    });
    const apiAdmin = await boundToken("kubelet-api-admin", "system:kubelet-api-admin");
    assert.equal((await call("/logs/", { token: apiAdmin })).code, 404);
    assert.equal((await call("/pods", { token: apiAdmin })).code, 200);
  });

  test("a missing image shows ErrImagePull, then ImagePullBackOff, with events", async () => {
    await h.createPod("missing", {
      containers: [
        { name: "app", image: "127.0.0.1:5000/skiff/does-not-exist:1.0", command: ["true"] },
      ],
    });
    await h.waitPod("missing", (p) =>
      ["ErrImagePull", "ImagePullBackOff"].includes(
        containerStatus(p, "app")?.state?.waiting?.reason,
      ),
    );
    await h.waitPod(
      "missing",
      (p) => containerStatus(p, "app")?.state?.waiting?.reason === "ImagePullBackOff",
      60_000,
    );
    const events = await h.events("missing");
    assert.ok(events.some((e) => e.reason === "Failed" && /Failed to pull image/.test(e.message)));
  });
});

// Ephemeral containers end to end: `kubectl debug` adds one through pods/ephemeralcontainers,
// the kubelet starts it in the pod's network and IPC namespaces and, with --target, the
// target's PID namespace, and `kubectl debug -it` / `kubectl attach` reach its process over
// the attach subresource. Real apiserver, real Docker engine, the real kubectl.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { kubectlOnPath, runKubectl } from "@skiff/testing";
import { IMAGE, assignPodCIDR, startHarness, waitFor, type Harness, type Pod } from "./harness.js";

let h: Harness;
let cacheDir: string;

const kubectl = (args: string[], stdin?: string) =>
  kubectlOnPath(["--request-timeout=30s", ...args], {
    kubeconfig: h.api.kubeconfig,
    cacheDir,
    stdin: stdin ?? "",
  });

function ephemeralStatus(pod: Pod, name: string): Pod {
  return (pod.status?.ephemeralContainerStatuses ?? []).find((c: Pod) => c.name === name);
}

describe("ephemeral containers and kubectl debug", { timeout: 600_000 }, () => {
  before(async () => {
    cacheDir = mkdtempSync(join(tmpdir(), "skiff-kubectl-debug-"));
    h = await startHarness();
    await h.startKubelet();
    await assignPodCIDR(h);
    // A target whose process and listening port the debugger can only see by sharing the
    // target's PID namespace and the pod's network namespace.
    await h.runningPod("web", ["sh", "-c", "mkdir -p /www && exec httpd -f -p 8089 -h /www"], "c");
  });
  after(async () => {
    await h?.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
  });

  test("kubectl debug -it --target runs a shell that sees the target's processes and network", async () => {
    const r = await kubectl(
      ["debug", "-it", "pod/web", `--image=${IMAGE}`, "--target=c", "-c", "dbg", "--", "sh"],
      "ps; netstat -tln; echo DONE-$((6*7))\nexit\n",
    );
    assert.equal(r.code, 0, r.stderr);
    // PID namespace of the target: its httpd is visible, as PID 1.
    assert.match(r.stdout, /\n\s*1 root\s+.*httpd -f -p 8089/, r.stdout);
    // Network namespace of the pod: the target's listening port shows.
    assert.match(r.stdout, /:8089\s/, r.stdout);
    assert.match(r.stdout, /DONE-42/);
    const pod = await h.waitPod("web", (p) => !!ephemeralStatus(p, "dbg")?.state?.terminated);
    const s = ephemeralStatus(pod, "dbg");
    assert.equal(s.state.terminated.exitCode, 0);
    assert.equal(s.restartCount, 0);
    assert.equal(pod.spec.ephemeralContainers[0].targetContainerName, "c");
    // Never restarted: the pod stays Running with its app container, the debugger stays done.
    await new Promise((r) => setTimeout(r, 3000));
    const later = await h.getPod("web");
    assert.equal(later.status.phase, "Running");
    assert.equal(ephemeralStatus(later, "dbg").state.terminated.exitCode, 0);
  });

  test("kubectl debug -it on a terminal gets a TTY in the debugger", async () => {
    // script(1) gives kubectl a pseudo-terminal, as a person at a shell has.
    const cmd = [
      "kubectl",
      `--kubeconfig=${h.api.kubeconfig}`,
      `--cache-dir=${cacheDir}`,
      "debug",
      "-it",
      "web",
      `--image=${IMAGE}`,
      "--target=c",
      "-c",
      "tty",
      "--",
      "sh",
    ].join(" ");
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      const child = execFile(
        "script",
        ["-qec", cmd, "/dev/null"],
        { timeout: 60_000 },
        (err, out) => resolve({ code: err ? 1 : 0, out }),
      );
      // Typed once the prompt is there: a person waits for it too.
      setTimeout(() => child.stdin!.write("tty; stty size; exit\n"), 6000);
    });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /\/dev\/pts\/\d+/, r.out);
    const pod = await h.waitPod("web", (p) => !!ephemeralStatus(p, "tty")?.state?.terminated);
    assert.equal(ephemeralStatus(pod, "tty").state.terminated.exitCode, 0);
  });

  test("kubectl debug without -it adds a container whose output kubectl logs shows", async () => {
    const r = await kubectl([
      "debug",
      "web",
      `--image=${IMAGE}`,
      "-c",
      "once",
      "--",
      "sh",
      "-c",
      "echo from-debugger; hostname",
    ]);
    assert.equal(r.code, 0, r.stderr);
    await h.waitPod("web", (p) => ephemeralStatus(p, "once")?.state?.terminated?.exitCode === 0);
    const logs = await kubectl(["logs", "web", "-c", "once"]);
    assert.equal(logs.stdout, "from-debugger\nweb\n", logs.stderr);
    const yaml = await kubectl(["get", "pod", "web", "-o", "yaml"]);
    assert.match(yaml.stdout, /ephemeralContainerStatuses:/);
    assert.match(yaml.stdout, /- containerID: docker:\/\/[0-9a-f]+\n\s+image: /);
    assert.match(yaml.stdout, /name: once\n/);
    assert.match(yaml.stdout, /reason: Completed/);
    // describe reads the pod as protobuf, where ephemeral containers embed their fields.
    const described = await kubectl(["describe", "pod", "web"]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, /Ephemeral Containers:\n\s+dbg:\n/);
    assert.match(described.stdout, /\n\s+once:\n[^]*?State:\s+Terminated\n\s+Reason:\s+Completed/);
  });

  test("ephemeral containers cannot be set on create, by an update, or changed once added", async () => {
    const manifest = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "born-with-debugger" },
      spec: {
        containers: [{ name: "c", image: IMAGE }],
        ephemeralContainers: [{ name: "d", image: IMAGE }],
      },
    });
    const created = await kubectl(["create", "-f", "-"], manifest);
    assert.notEqual(created.code, 0);
    assert.match(
      created.stderr,
      /Pod "born-with-debugger" is invalid: spec.ephemeralContainers: Forbidden: cannot be set on create/,
    );

    const added = { name: "sneaky", image: IMAGE, command: ["true"] };
    const patched = await kubectl([
      "patch",
      "pod",
      "web",
      "--type=json",
      "-p",
      JSON.stringify([{ op: "add", path: "/spec/ephemeralContainers/-", value: added }]),
    ]);
    assert.notEqual(patched.code, 0);
    assert.match(patched.stderr, /spec: Forbidden: pod updates may not change fields other than/);

    const sub = "/api/v1/namespaces/default/pods/web/ephemeralcontainers";
    const current = (await h.api.request("GET", sub)).json as Pod;
    assert.equal(current.kind, "Pod");
    const changed = structuredClone(current);
    changed.spec.ephemeralContainers[0].image = "skiff.local/other:1";
    const put = await h.api.request("PUT", sub, changed);
    assert.equal(put.status, 422, put.text);
    assert.match(
      put.json.message,
      /spec.ephemeralContainers: Forbidden: existing ephemeral containers "dbg" may not be changed/,
    );
    const removed = structuredClone(current);
    removed.spec.ephemeralContainers = removed.spec.ephemeralContainers.slice(1);
    const del = await h.api.request("PUT", sub, removed);
    assert.equal(del.status, 422, del.text);
    assert.match(del.json.message, /existing ephemeral containers "dbg" may not be removed/);

    const bad = await h.api.request(
      "PATCH",
      sub,
      {
        spec: {
          ephemeralContainers: [
            {
              name: "c",
              image: IMAGE,
              ports: [{ containerPort: 80 }],
              targetContainerName: "nope",
            },
          ],
        },
      },
      { contentType: "application/strategic-merge-patch+json" },
    );
    assert.equal(bad.status, 422, bad.text);
    // The new one comes after those kubectl debug added before.
    const newAt = `spec.ephemeralContainers[${current.spec.ephemeralContainers.length}]`;
    const fields = (bad.json.details.causes as { field: string; message: string }[]).map(
      (c) => `${c.field}: ${c.message}`,
    );
    assert.ok(
      fields.includes(`${newAt}.ports: Forbidden: cannot be set for an Ephemeral Container`),
      fields.join("\n"),
    );
    assert.ok(fields.includes(`${newAt}.targetContainerName: Not found: "nope"`));
    assert.ok(fields.includes(`${newAt}.name: Duplicate value: "c"`));
  });

  test("adding an ephemeral container needs patch on pods/ephemeralcontainers, which pod rights do not give", async () => {
    const rbac = "/apis/rbac.authorization.k8s.io/v1/namespaces/default";
    const podRules = [
      {
        apiGroups: [""],
        resources: ["pods"],
        verbs: ["get", "list", "watch", "create", "update", "patch", "delete"],
      },
      { apiGroups: [""], resources: ["pods/attach", "pods/exec"], verbs: ["create", "get"] },
    ];
    const role = (rules: unknown[]) => ({
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "Role",
      metadata: { name: "pod-editor" },
      rules,
    });
    assert.equal((await h.api.request("POST", `${rbac}/roles`, role(podRules))).status, 201);
    const binding = await h.api.request("POST", `${rbac}/rolebindings`, {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "dev-pod-editor" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-editor" },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "dev" }],
    });
    assert.equal(binding.status, 201, binding.text);
    const asDev = (args: string[]) =>
      kubectlOnPath(["--request-timeout=30s", ...args], {
        kubeconfig: h.api.kubeconfigFor("dev"),
        cacheDir: join(cacheDir, "dev"),
        stdin: "",
      });
    const args = ["debug", "web", `--image=${IMAGE}`, "-c", "by-dev", "--", "true"];
    const refused = await asDev(args);
    assert.notEqual(refused.code, 0);
    assert.match(
      refused.stderr,
      /User "dev" cannot patch resource "pods\/ephemeralcontainers" in API group "" in the namespace "default"/,
    );
    const current = (await h.api.request("GET", `${rbac}/roles/pod-editor`)).json as Pod;
    const withRule = {
      ...role([
        ...podRules,
        { apiGroups: [""], resources: ["pods/ephemeralcontainers"], verbs: ["patch"] },
      ]),
      metadata: { name: "pod-editor", resourceVersion: current.metadata.resourceVersion },
    };
    assert.equal((await h.api.request("PUT", `${rbac}/roles/pod-editor`, withRule)).status, 200);
    const allowed = await waitFor("dev may debug", async () => {
      const r = await asDev(args);
      return r.code === 0 ? r : undefined;
    });
    assert.equal(allowed.code, 0);
  });

  test("kubectl attach reaches a container's own process, over WebSocket and over SPDY", async () => {
    // stdinOnce: the attached client's EOF ends the shell's stdin, so the shell exits.
    const shell = (name: string) => ({
      name,
      image: IMAGE,
      command: ["sh"],
      stdin: true,
      stdinOnce: true,
    });
    await h.createPod("talker", { restartPolicy: "Never", containers: [shell("a"), shell("b")] });
    await h.waitPod("talker", (p) => p.status?.phase === "Running");
    const r = await kubectl(["attach", "-i", "talker", "-c", "a"], "echo attached-$((1+1))\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /attached-2/);
    // kubectl 1.29 speaks SPDY.
    const old = await runKubectl("1.29", ["attach", "-i", "talker", "-c", "b"], {
      kubeconfig: h.api.kubeconfig,
      cacheDir: join(cacheDir, "1.29"),
      stdin: "echo spdy-$((2+2))\n",
    });
    assert.equal(old.code, 0, old.err);
    assert.match(old.out, /spdy-4/);
    const pod = await h.waitPod("talker", (p) => p.status?.phase === "Succeeded");
    assert.deepEqual(
      pod.status.containerStatuses.map((c: Pod) => c.state.terminated?.exitCode),
      [0, 0],
    );
  });
});

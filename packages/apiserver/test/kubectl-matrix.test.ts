// Every bundled kubectl (1.27 → 1.33), called directly rather than through the dispatcher,
// runs the same short journey against one apiserver: the create generators (namespace,
// configmap, deployment, service, secret, job, serviceaccount, token; protobuf from 1.32),
// client-side apply (OpenAPI v2 for 1.27/1.28), get in every output, label, patch, scale,
// delete and auth whoami — each command checked for its exact output. Pods are not
// run (no kubelet here): every kubectl's logs and exec (SPDY up to 1.29, WebSocket from 1.30)
// are in packages/kubelet/test/kubelet-pods.test.ts, port-forward over raw SPDY in
// portforward.test.ts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { KUBECTL_VERSIONS, runKubectl, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let dir: string;
before(async () => {
  api = await startApiserver();
  dir = mkdtempSync(join(tmpdir(), "skiff-kubectl-matrix-"));
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The value with every object's keys in sorted order, as Go's JSON writes a map. */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
  );
}

const manifest = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "${image}"}]
`;

for (const version of KUBECTL_VERSIONS) {
  test(`kubectl ${version} runs the journey`, async () => {
    const ns = `m${version.replace(".", "")}`;
    const cacheDir = join(dir, version);
    const k = (args: string[], stdin?: string) =>
      runKubectl(version, args, { kubeconfig: api.kubeconfig, cacheDir, stdin });
    const expect = async (args: string[], out: string, stdin?: string) => {
      const r = await k(args, stdin);
      assert.equal(r.code, 0, `kubectl ${version} ${args.join(" ")}: ${r.err}`);
      assert.equal(r.out, out, `kubectl ${version} ${args.join(" ")}`);
    };

    const client = await k(["version", "--client", "-o", "json"]);
    assert.equal(JSON.parse(client.out).clientVersion.minor, version.split(".")[1]);

    await expect(["create", "namespace", ns], `namespace/${ns} created\n`);
    await expect(
      ["create", "configmap", "cfg", "-n", ns, "--from-literal=k=v"],
      "configmap/cfg created\n",
    );
    await expect(
      ["create", "deployment", "gen", "-n", ns, "--image=busybox:1.36"],
      "deployment.apps/gen created\n",
    );
    await expect(
      ["create", "service", "clusterip", "gen", "-n", ns, "--tcp=80:8080"],
      "service/gen created\n",
    );
    await expect(
      ["create", "secret", "generic", "pw", "-n", ns, "--from-literal=p=s3cr3t"],
      "secret/pw created\n",
    );
    await expect(
      ["create", "job", "once", "-n", ns, "--image=busybox:1.36", "--", "true"],
      "job.batch/once created\n",
    );
    await expect(["create", "serviceaccount", "robot", "-n", ns], "serviceaccount/robot created\n");
    const token = await k(["create", "token", "robot", "-n", ns, "--duration=1h"]);
    assert.equal(token.code, 0, `kubectl ${version} create token: ${token.err}`);
    assert.match(token.out, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/, `kubectl ${version} create token`);
    const claims = JSON.parse(Buffer.from(token.out.split(".")[1]!, "base64url").toString());
    assert.equal(claims.sub, `system:serviceaccount:${ns}:robot`);
    assert.equal(claims.exp - claims.iat, 3600);
    // What the generators sent arrived whole, whether as JSON (≤1.31) or protobuf (1.32+).
    await expect(
      [
        "get",
        "secret,job,service",
        "-n",
        ns,
        "-o",
        "jsonpath={.items[0].data.p} {.items[1].spec.template.spec.containers[0].command} {.items[2].spec.ports[0].targetPort}",
      ],
      'czNjcjN0 ["true"] 8080',
    );
    await expect(
      ["apply", "-n", ns, "-f", "-"],
      "deployment.apps/web created\n",
      manifest("busybox:1.36"),
    );
    await expect(
      ["apply", "-n", ns, "-f", "-"],
      "deployment.apps/web configured\n",
      manifest("busybox:1.37"),
    );
    await expect(
      [
        "get",
        "deployment",
        "web",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.containers[0].image}",
      ],
      "busybox:1.37",
    );
    // -o json is the stored object (kubectl hides managedFields), keys sorted and indented by
    // four as Go prints a map; -o yaml the same object.
    const stored = (await api.request("GET", `/apis/apps/v1/namespaces/${ns}/deployments/web`))
      .json;
    delete stored.metadata.managedFields;
    await expect(
      ["get", "deployment", "web", "-n", ns, "-o", "json"],
      JSON.stringify(sortKeys(stored), null, 4) + "\n",
    );
    const yaml = await k(["get", "deployment", "web", "-n", ns, "-o", "yaml"]);
    assert.equal(yaml.code, 0, yaml.err);
    assert.deepEqual(parseYaml(yaml.out), stored, `kubectl ${version} -o yaml`);
    assert.match(yaml.out, /^apiVersion: apps\/v1\nkind: Deployment\nmetadata:\n/);
    const wide = await k(["get", "deployments", "-n", ns, "-o", "wide"]);
    const lines = wide.out.trimEnd().split("\n");
    assert.match(
      lines[0]!,
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/,
    );
    assert.match(lines[1]!, /^gen\s+0\/1\s+0\s+0\s+\S+\s+busybox\s+busybox:1\.36\s+app=gen$/);
    assert.match(lines[2]!, /^web\s+0\/1\s+0\s+0\s+\S+\s+web\s+busybox:1\.37\s+app=web$/);
    await expect(
      ["label", "deployment", "web", "-n", ns, "tier=front"],
      "deployment.apps/web labeled\n",
    );
    await expect(
      ["patch", "deployment", "web", "-n", ns, "-p", '{"spec":{"minReadySeconds":5}}'],
      "deployment.apps/web patched\n",
    );
    await expect(
      ["scale", "deployment", "web", "-n", ns, "--replicas=3"],
      "deployment.apps/web scaled\n",
    );
    await expect(
      [
        "get",
        "deployment",
        "web",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.replicas} {.metadata.labels.tier} {.spec.minReadySeconds}",
      ],
      "3 front 5",
    );
    await expect(["delete", "configmap", "cfg", "-n", ns], 'configmap "cfg" deleted\n');
    const gone = await k(["get", "configmap", "cfg", "-n", ns]);
    assert.equal(gone.code, 1);
    assert.equal(gone.err, 'Error from server (NotFound): configmaps "cfg" not found\n');
    const whoami = await k(["auth", "whoami"]);
    assert.equal(whoami.code, 0, whoami.err);
    assert.match(whoami.out, /^Username\s+kubernetes-admin$/m);
  });
}

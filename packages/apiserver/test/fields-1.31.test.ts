// The real kubectl (which validates strictly) creates manifests using fields of Kubernetes
// 1.31 that Skiff used to refuse, reads them back unchanged, and still gets 1.31's refusal
// for a field that is alpha there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { kubectlOnPath, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let cacheDir: string;
before(async () => {
  api = await startApiserver();
  cacheDir = mkdtempSync(join(tmpdir(), "skiff-fields-cache-"));
});
after(async () => {
  await api?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

const kubectl = (args: string[], stdin?: string) =>
  kubectlOnPath(args, { kubeconfig: api.kubeconfig, cacheDir, stdin });

const podYaml = (name: string, extra: string) => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}}
spec:
  securityContext:
    windowsOptions: {runAsUserName: ContainerUser}
  containers:
  - name: app
    image: busybox:1.36
    volumeMounts: [{name: share, mountPath: /share}]
  volumes:
  - name: share
    nfs: {server: nfs.example.com, path: /exports}
${extra}`;

test("kubectl create -f accepts 1.31 fields Skiff used to refuse and returns them", async () => {
  const created = await kubectl(["create", "-f", "-"], podYaml("win", ""));
  assert.equal(created.code, 0, created.stderr);
  const got = await kubectl([
    "get",
    "pod",
    "win",
    "-o",
    "jsonpath={.spec.securityContext.windowsOptions.runAsUserName} {.spec.volumes[0].nfs.server}",
  ]);
  assert.equal(got.stdout, "ContainerUser nfs.example.com");
});

test("kubectl explain knows the new fields (from the published OpenAPI)", async () => {
  const r = await kubectl(["explain", "pod.spec.securityContext.windowsOptions"]);
  assert.equal(r.code, 0, r.stderr);
  for (const field of ["gmsaCredentialSpec", "hostProcess", "runAsUserName"])
    assert.match(r.stdout, new RegExp(`\\b${field}\\b`));
});

test("kubectl create -f refuses a field that is alpha in 1.31, and names it", async () => {
  const alpha = podYaml("claims", "  resourceClaims: [{name: gpu, resourceClaimName: gpu}]\n");
  const r = await kubectl(["create", "-f", "-"], alpha);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown field "spec.resourceClaims"/);
});

test("a wrong 1.31 field is a 422 naming its path", async () => {
  const bad = podYaml("bad", "").replace("server: nfs.example.com, ", "");
  const r = await kubectl(["create", "-f", "-"], bad);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /spec\.volumes\[0\]\.nfs\.server: Required value/);
});

// Kubernetes protobuf on the wire: request bodies captured from the real kubectl 1.33.1
// (its `create` generators send nothing else) are the golden bytes; replies, lists and
// watch frames in protobuf when asked first; malformed bodies are 400s, never 500s; custom
// resources, which have no protobuf, answer JSON as Kubernetes does.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeEnvelope, encodeEnvelope } from "@skiff/api";
import {
  crdFixture,
  eventually,
  runKubectl,
  startApiserver,
  type TestApiserver,
} from "@skiff/testing";
import { rawRequest } from "./raw-request.js";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
const fixtures = fileURLToPath(new URL("./fixtures/protobuf/", import.meta.url));
const golden = (name: string) => readFileSync(join(fixtures, `kubectl-1.33-${name}.pb`));

let api: TestApiserver;
let dir: string;
before(async () => {
  api = await startApiserver();
  dir = mkdtempSync(join(tmpdir(), "skiff-protobuf-"));
});
after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("kubectl 1.33's protobuf bodies decode to the objects it means", () => {
  assert.deepEqual(decodeEnvelope(golden("deployments")).object, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "golden-web", namespace: "golden", labels: { app: "golden-web" } },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "golden-web" } },
      template: {
        metadata: { labels: { app: "golden-web" } },
        spec: {
          containers: [
            {
              name: "busybox",
              image: "busybox:1.36",
              command: ["httpd", "-f"],
              ports: [{ containerPort: 8080 }],
              resources: {},
            },
          ],
        },
      },
      strategy: {},
    },
    status: {},
  });
  assert.deepEqual(decodeEnvelope(golden("services")).object.spec, {
    ports: [{ name: "80-8080", protocol: "TCP", port: 80, targetPort: 8080 }],
    selector: { app: "golden-svc" },
    type: "ClusterIP",
  });
  assert.deepEqual(decodeEnvelope(golden("secrets")).object.data, { password: "czNjcjN0" });
  assert.deepEqual(decodeEnvelope(golden("configmaps")).object.data, { a: "1", b: "two" });
  assert.deepEqual(decodeEnvelope(golden("tokenrequest")).object.spec, {
    audiences: ["skiff"],
    expirationSeconds: 3600,
  });
  assert.equal(decodeEnvelope(golden("jobs")).object.kind, "Job");
  assert.equal(decodeEnvelope(golden("namespaces")).object.kind, "Namespace");
});

test("protobuf bodies create objects, and replies come in protobuf when asked first", async () => {
  const post = (path: string, name: string) =>
    rawRequest(api, "POST", path, {
      body: golden(name),
      contentType: PROTOBUF,
      accept: `${PROTOBUF}, application/json`,
    });
  let r = await post("/api/v1/namespaces", "namespaces");
  assert.equal(r.status, 201, r.body.toString());
  assert.equal(r.type, PROTOBUF);
  assert.equal(decodeEnvelope(r.body).object.kind, "Namespace");
  r = await post("/apis/apps/v1/namespaces/golden/deployments", "deployments");
  assert.equal(r.status, 201, r.body.toString());
  const created = decodeEnvelope(r.body).object as {
    metadata: { uid: string; creationTimestamp: string };
    spec: { strategy: { type: string }; template: { spec: { containers: { ports: object[] }[] } } };
  };
  assert.match(created.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(created.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  // Defaults were applied to the decoded object as to a JSON one.
  assert.equal(created.spec.strategy.type, "RollingUpdate");
  assert.deepEqual(created.spec.template.spec.containers[0]!.ports, [
    { containerPort: 8080, protocol: "TCP" },
  ]);
  r = await post("/api/v1/namespaces/golden/services", "services");
  assert.equal(r.status, 201, r.body.toString());
  r = await post("/api/v1/namespaces/golden/secrets", "secrets");
  assert.equal(r.status, 201, r.body.toString());
  const json = await api.request("GET", "/api/v1/namespaces/golden/secrets/golden-secret");
  assert.deepEqual(json.json.data, { password: "czNjcjN0" });

  const list = await rawRequest(api, "GET", "/apis/apps/v1/namespaces/golden/deployments", {
    accept: `${PROTOBUF}, application/json`,
  });
  assert.equal(list.type, PROTOBUF);
  const decoded = decodeEnvelope(list.body).object as {
    kind: string;
    metadata: { resourceVersion: string };
    items: { metadata: { name: string } }[];
  };
  assert.equal(decoded.kind, "DeploymentList");
  assert.match(decoded.metadata.resourceVersion, /^\d+$/);
  assert.deepEqual(
    decoded.items.map((i) => i.metadata.name),
    ["golden-web"],
  );
  // JSON first still gets JSON.
  const jsonFirst = await rawRequest(api, "GET", "/apis/apps/v1/namespaces/golden/deployments", {
    accept: `application/json, ${PROTOBUF}`,
  });
  assert.equal(jsonFirst.type, "application/json");
});

test("a protobuf watch streams length-prefixed WatchEvent frames", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "pbwatch" } });
  const watching = rawRequest(api, "GET", "/api/v1/namespaces/pbwatch/configmaps?watch=true", {
    accept: PROTOBUF,
    maxBytes: 40,
  });
  await new Promise((r) => setTimeout(r, 300));
  await api.request("POST", "/api/v1/namespaces/pbwatch/configmaps", {
    metadata: { name: "seen" },
    data: { k: "v" },
  });
  const r = await watching;
  assert.equal(r.type, `${PROTOBUF};stream=watch`);
  const length = r.body.readUInt32BE(0);
  const event = decodeEnvelope(r.body.subarray(4, 4 + length)).object as {
    kind: string;
    type: string;
    object: { kind: string; metadata: { name: string }; data: object };
  };
  assert.equal(event.kind, "WatchEvent");
  assert.equal(event.type, "ADDED");
  assert.equal(event.object.kind, "ConfigMap");
  assert.equal(event.object.metadata.name, "seen");
  assert.deepEqual(event.object.data, { k: "v" });
});

test("malformed protobuf bodies get 400 with a clear message, never a 500", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "fuzz" } });
  const path = "/apis/apps/v1/namespaces/fuzz/deployments";
  const send = (body: Buffer) => rawRequest(api, "POST", path, { body, contentType: PROTOBUF });
  const base = golden("deployments");

  let r = await send(Buffer.from('{"kind":"Deployment"}'));
  assert.equal(r.status, 400);
  assert.match(
    JSON.parse(r.body.toString()).message,
    /^error decoding body: protobuf: the body does not start with the protobuf magic/,
  );
  r = await send(base.subarray(0, base.length - 10));
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body.toString()).message, /^error decoding body: protobuf: malformed/);
  r = await send(golden("configmaps"));
  assert.equal(r.status, 400, "a ConfigMap sent to deployments is refused");

  // A deterministic fuzz: truncations, byte flips, insertions and garbage after the magic.
  let seed = 19;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const codes = new Map<number, number>();
  for (let i = 0; i < 200; i++) {
    let body = Buffer.from(base);
    switch (i % 4) {
      case 0:
        body = body.subarray(0, 4 + rand(body.length - 4));
        break;
      case 1:
        for (let k = 0; k <= rand(3); k++) body[4 + rand(body.length - 4)] = rand(256);
        break;
      case 2: {
        const at = 4 + rand(body.length - 4);
        const junk = Buffer.from(Array.from({ length: 1 + rand(6) }, () => rand(256)));
        body = Buffer.concat([body.subarray(0, at), junk, body.subarray(at)]);
        break;
      }
      default:
        body = Buffer.concat([
          body.subarray(0, 4),
          Buffer.from(Array.from({ length: rand(64) }, () => rand(256))),
        ]);
    }
    const reply = await send(body);
    codes.set(reply.status, (codes.get(reply.status) ?? 0) + 1);
    assert.ok(reply.status < 500, `mutation ${i} got ${reply.status}: ${reply.body.toString()}`);
    if (reply.status >= 400) {
      const status = JSON.parse(reply.body.toString());
      assert.equal(status.kind, "Status");
      assert.ok(status.message.length > 0);
    }
  }
  assert.ok((codes.get(400) ?? 0) > 100, `mostly 400s: ${JSON.stringify([...codes])}`);
});

test("kubectl 1.33's create generators, token and whoami work against Skiff", async () => {
  const k = (...args: string[]) =>
    runKubectl("1.33", args, { kubeconfig: api.kubeconfig, cacheDir: join(dir, "cache") });
  const expect = async (args: string[], out: string) => {
    const r = await k(...args);
    assert.equal(r.code, 0, `kubectl ${args.join(" ")}: ${r.err}`);
    assert.equal(r.out, out);
  };
  await expect(["create", "namespace", "gen"], "namespace/gen created\n");
  await expect(
    ["create", "configmap", "cm", "-n", "gen", "--from-literal=a=1"],
    "configmap/cm created\n",
  );
  await expect(
    ["create", "secret", "generic", "s", "-n", "gen", "--from-literal=p=x"],
    "secret/s created\n",
  );
  await expect(
    ["create", "deployment", "web", "-n", "gen", "--image=busybox:1.36", "--replicas=2"],
    "deployment.apps/web created\n",
  );
  await expect(
    ["create", "service", "clusterip", "web", "-n", "gen", "--tcp=80:8080"],
    "service/web created\n",
  );
  await expect(
    ["create", "job", "once", "-n", "gen", "--image=busybox:1.36", "--", "true"],
    "job.batch/once created\n",
  );
  await expect(
    ["create", "serviceaccount", "robot", "-n", "gen"],
    "serviceaccount/robot created\n",
  );
  const token = await k("create", "token", "robot", "-n", "gen", "--duration=1h");
  assert.equal(token.code, 0, token.err);
  assert.match(token.out, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  await expect(
    ["auth", "whoami"],
    "ATTRIBUTE   VALUE\nUsername    kubernetes-admin\nGroups      [system:masters system:authenticated]\n",
  );
  const deploy = await api.request("GET", "/apis/apps/v1/namespaces/gen/deployments/web");
  assert.equal(deploy.json.spec.replicas, 2);
  assert.equal(deploy.json.spec.template.spec.containers[0].image, "busybox:1.36");
  const svc = await api.request("GET", "/api/v1/namespaces/gen/services/web");
  assert.match(svc.json.spec.clusterIP, /^10\.\d+\.\d+\.\d+$/);
  assert.equal(svc.json.spec.ports[0].targetPort, 8080);
});

test("a DELETE's DeleteOptions may come in protobuf", async () => {
  await api.request("POST", "/api/v1/namespaces", { metadata: { name: "pbdelete" } });
  const cms = "/api/v1/namespaces/pbdelete/configmaps";
  await api.request("POST", cms, { metadata: { name: "kept" } });
  const body = encodeEnvelope({
    apiVersion: "v1",
    kind: "DeleteOptions",
    propagationPolicy: "Orphan",
  });
  const r = await rawRequest(api, "DELETE", `${cms}/kept`, { body, contentType: PROTOBUF });
  assert.equal(r.status, 202, r.body.toString());
  // Orphan leaves the orphan finalizer for the garbage collector: the options were read.
  const left = await api.request("GET", `${cms}/kept`);
  assert.deepEqual(left.json.metadata.finalizers, ["orphan"]);
  const bad = await rawRequest(api, "DELETE", `${cms}/kept`, {
    body: Buffer.from("k8s\0\x0a\xff"),
    contentType: PROTOBUF,
  });
  assert.equal(bad.status, 400);
});

test("custom resources, which have no protobuf, answer JSON when protobuf is asked first and 406 when it is the only choice", async () => {
  const crd = crdFixture({ group: "pbjson.example.com", plural: "widgets", kind: "Widget" });
  const made = await api.request(
    "POST",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    crd,
  );
  assert.equal(made.status, 201, made.text);
  const widgets = "/apis/pbjson.example.com/v1/namespaces/default/widgets";
  await eventually(async () => {
    const r = await api.request("POST", widgets, {
      apiVersion: "pbjson.example.com/v1",
      kind: "Widget",
      metadata: { name: "w1" },
    });
    assert.equal(r.status, 201, r.text);
  });
  const protobufFirst = `${PROTOBUF}, application/json`;
  for (const path of [widgets, `${widgets}/w1`]) {
    const r = await rawRequest(api, "GET", path, { accept: protobufFirst });
    assert.equal(r.status, 200, path);
    assert.equal(r.type, "application/json", path);
    assert.equal(JSON.parse(r.body.toString()).apiVersion, "pbjson.example.com/v1");
    const only = await rawRequest(api, "GET", path, { accept: PROTOBUF });
    assert.equal(only.status, 406, path);
    assert.equal(
      JSON.parse(only.body.toString()).message,
      `only the following media types are accepted: application/json, application/yaml (got "${PROTOBUF}")`,
    );
  }
  // A watch asked for protobuf first streams JSON lines.
  const watched = await rawRequest(api, "GET", `${widgets}?watch=true&timeoutSeconds=1`, {
    accept: protobufFirst,
  });
  assert.equal(watched.type, "application/json");
  const event = JSON.parse(watched.body.toString().split("\n")[0]!);
  assert.equal(event.type, "ADDED");
  assert.equal(event.object.metadata.name, "w1");
  // Built-in kinds still answer protobuf, and name it among what they accept.
  const pods = await rawRequest(api, "GET", "/api/v1/namespaces/default/pods", {
    accept: "text/plain",
  });
  assert.equal(pods.status, 406);
  assert.match(
    JSON.parse(pods.body.toString()).message,
    /^only the following media types are accepted: application\/json, application\/yaml, application\/vnd\.kubernetes\.protobuf /,
  );
});

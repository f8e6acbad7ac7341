// `skiffctl get` prints what the real kubectl prints for the same objects.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { kubectl, skiffctl, tempHome, until, withoutAges, type Result } from "./helpers.js";

let api: TestApiserver;
let home: ReturnType<typeof tempHome>;
const sk = (...args: string[]): Promise<Result> => skiffctl(api.kubeconfig, home.home, args);
const kc = (...args: string[]): Promise<Result> => kubectl(api.kubeconfig, home.home, args);

const manifests = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web, tier: front}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: db-0, labels: {app: db}}
spec:
  containers: [{name: postgres, image: "postgres:16"}]
---
apiVersion: v1
kind: Namespace
metadata: {name: other}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: other}
data: {a: "1", b: "yes"}
`;

before(async () => {
  api = await startApiserver();
  home = tempHome();
  const r = await skiffctl(api.kubeconfig, home.home, ["apply", "-f", "-"], { stdin: manifests });
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await api?.stop();
  home?.cleanup();
});

async function sameAsKubectl(...args: string[]): Promise<void> {
  const [ours, theirs] = await Promise.all([sk(...args), kc(...args)]);
  assert.equal(theirs.code, 0, theirs.stderr);
  assert.equal(ours.code, 0, ours.stderr);
  assert.deepEqual(withoutAges(ours.stdout), withoutAges(theirs.stdout), `get ${args.join(" ")}`);
  assert.equal(
    ours.stdout.split("\n")[0],
    theirs.stdout.split("\n")[0],
    "the header line, spaces and all",
  );
}

test("get prints the same tables as kubectl: one kind, several kinds, wide, -A, --show-labels", async () => {
  await sameAsKubectl("get", "pods");
  await sameAsKubectl("get", "deploy,svc,po");
  await sameAsKubectl("get", "po", "-o", "wide");
  await sameAsKubectl("get", "deployments", "-o", "wide");
  await sameAsKubectl("get", "configmaps", "-A");
  await sameAsKubectl("get", "all", "-A", "--show-labels");
  await sameAsKubectl("get", "ns");
  await sameAsKubectl("get", "deploy", "web");
  await sameAsKubectl("get", "svc/web", "po/db-0");
});

test("-o json, -o yaml and -o name print exactly what kubectl prints", async () => {
  for (const args of [
    ["get", "deploy", "web", "-o", "json"],
    ["get", "pods", "-o", "yaml"],
    ["get", "cm", "-n", "other", "-o", "yaml"],
    ["get", "deploy,svc", "-o", "name"],
  ]) {
    const [ours, theirs] = await Promise.all([sk(...args), kc(...args)]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout, args.join(" "));
  }
});

test("-o jsonpath picks fields out of one object or a list", async () => {
  assert.equal(
    (await sk("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"))
      .stdout,
    "nginx:1.27",
  );
  assert.equal(
    (await sk("get", "po,deploy", "-o", "jsonpath={.items[*].metadata.name}")).stdout,
    "db-0 web",
  );
  const ranged = await sk(
    "get",
    "po",
    "-o",
    'jsonpath={range .items[*]}{.metadata.name}={.spec.containers[0].image}{"\\n"}{end}',
  );
  assert.equal(ranged.stdout, "db-0=postgres:16\n");
});

test("-l and --field-selector narrow the list; an empty result says so on stderr", async () => {
  const byLabel = await sk("get", "pods", "-l", "app=db", "-o", "name");
  assert.equal(byLabel.stdout, "pod/db-0\n");
  const byField = await sk("get", "pods", "--field-selector", "metadata.name=db-0", "-o", "name");
  assert.equal(byField.stdout, "pod/db-0\n");
  const none = await sk("get", "pods", "-l", "app=nothing");
  assert.equal(none.code, 0);
  assert.equal(none.stdout, "");
  assert.equal(none.stderr, "No resources found in default namespace.\n");
});

test("a missing object or unknown type is one line on stderr and exit code 1", async () => {
  const missing = await sk("get", "deploy", "nope");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): deployments.apps "nope" not found\n');
  const unknown = await sk("get", "flurbs");
  assert.equal(unknown.code, 1);
  assert.equal(unknown.stderr, 'error: the server doesn\'t have a resource type "flurbs"\n');
  const badFlag = await sk("get", "pods", "-o", "toml");
  assert.equal(badFlag.code, 1);
  assert.equal(badFlag.stderr.split("\n").length, 2, badFlag.stderr);
});

test("get -w prints the table, then a row per change, until stopped", async () => {
  const ac = new AbortController();
  let live = "";
  const watching = skiffctl(api.kubeconfig, home.home, ["get", "pods", "-w"], {
    signal: ac.signal,
    onStdout: (s) => (live = s),
  });
  try {
    // The initial table first; the pod made after it can only arrive as a watch event.
    await until(() => /^db-0 /m.test(live), 10_000, "the initial table");
    assert.doesNotMatch(live, /^watched /m);
    assert.equal((await sk("run", "watched", "--image=busybox")).code, 0);
    await until(() => /^watched /m.test(live), 10_000, "a row for the pod made while watching");
  } finally {
    ac.abort();
  }
  const result = await watching;
  assert.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split("\n");
  assert.match(lines[0]!, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
  const db = lines.findIndex((l) => l.startsWith("db-0 "));
  const watched = lines.findIndex((l) => l.startsWith("watched "));
  assert.ok(db > 0 && watched > db, result.stdout);
});

test("api-resources matches kubectl's list", async () => {
  const [ours, theirs] = await Promise.all([sk("api-resources"), kc("api-resources")]);
  assert.equal(ours.stdout, theirs.stdout);
});

test("describe prints deployments, services, pods and nodes line for line as kubectl does", async () => {
  const node = await sk("create", "-f", "-");
  assert.equal(node.code, 1); // no manifest: -f - reads an empty stdin
  await skiffctl(api.kubeconfig, home.home, ["create", "-f", "-"], {
    stdin:
      "apiVersion: v1\nkind: Node\nmetadata: {name: node-a, labels: {node-role.kubernetes.io/worker: ''}}\n",
  });
  for (const args of [
    ["describe", "deploy", "web"],
    ["describe", "svc", "web"],
    ["describe", "pod", "db-0"],
    ["describe", "node", "node-a"],
  ]) {
    const [ours, theirs] = await Promise.all([sk(...args), kc(...args)]);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout, args.join(" "));
  }
});

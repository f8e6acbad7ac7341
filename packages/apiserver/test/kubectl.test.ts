// Compatibility: the real kubectl (the dispatcher on PATH picks 1.31 for this server)
// against a real etcd + apiserver, command by command as a user types them.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, realpathSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { kubectlOnPath, startApiserver, type TestApiserver } from "@skiff/testing";

let api: TestApiserver;
let cacheDir: string;
before(async () => {
  api = await startApiserver();
  cacheDir = mkdtempSync(join(tmpdir(), "skiff-kubectl-cache-"));
});
after(async () => {
  await api?.stop();
  rmSync(cacheDir, { recursive: true, force: true });
});

type Result = Awaited<ReturnType<typeof kubectlOnPath>>;

function kubectl(args: string[], opts: { stdin?: string; binary?: string } = {}): Promise<Result> {
  return kubectlOnPath(args, { kubeconfig: api.kubeconfig, cacheDir, ...opts });
}

async function ok(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, { stdin });
  assert.equal(r.code, 0, `kubectl ${args.join(" ")} failed:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const deploymentYaml = (name: string, image: string, replicas = 2) => `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: ${image}
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - containerPort: 8080
        env:
        - {name: A, value: "1"}
`;

test("kubectl version and api-resources see the server's kinds", async () => {
  const version = await ok(["version", "-o", "json"]);
  assert.equal(JSON.parse(version).serverVersion.minor, "31");
  const out = await ok(["api-resources"]);
  assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m);
  assert.match(out, /^nodes\s+no\s+v1\s+false\s+Node$/m);
  assert.match(out, /^leases\s+coordination\.k8s\.io\/v1\s+true\s+Lease$/m);
});

test("kubectl create -f makes the objects; a second create says AlreadyExists", async () => {
  const manifest =
    deploymentYaml("created", "skiff.local/busybox:1.36") +
    "---\n" +
    `
apiVersion: v1
kind: Service
metadata: {name: created}
spec:
  selector: {app: created}
  ports: [{port: 80, targetPort: 8080}]
`;
  const out = await ok(["create", "-f", "-"], manifest);
  assert.match(out, /deployment\.apps\/created created/);
  assert.match(out, /service\/created created/);
  const again = await kubectl(["create", "-f", "-"], { stdin: manifest });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, /AlreadyExists|already exists/);
});

test("kubectl apply creates, then says unchanged, then configures a changed image", async () => {
  assert.match(
    await ok(["apply", "-f", "-"], deploymentYaml("applied", "skiff.local/busybox:1.36")),
    /deployment\.apps\/applied created/,
  );
  assert.match(
    await ok(["apply", "-f", "-"], deploymentYaml("applied", "skiff.local/busybox:1.36")),
    /deployment\.apps\/applied unchanged/,
  );
  assert.match(
    await ok(["apply", "-f", "-"], deploymentYaml("applied", "skiff.local/busybox:1.36.1")),
    /deployment\.apps\/applied configured/,
  );
  const obj = JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"]));
  const c = obj.spec.template.spec.containers[0];
  assert.equal(c.image, "skiff.local/busybox:1.36.1");
  assert.deepEqual(c.command, ["httpd", "-f", "-p", "8080"], "other container fields are kept");
  assert.deepEqual(c.env, [{ name: "A", value: "1" }]);
  assert.ok(obj.metadata.annotations["kubectl.kubernetes.io/last-applied-configuration"]);
});

test("kubectl apply --server-side creates and updates, recording the field manager", async () => {
  assert.match(
    await ok(
      ["apply", "--server-side", "-f", "-"],
      deploymentYaml("ssa", "skiff.local/busybox:1.36"),
    ),
    /deployment\.apps\/ssa serverside-applied/,
  );
  assert.match(
    await ok(
      ["apply", "--server-side", "-f", "-"],
      deploymentYaml("ssa", "skiff.local/busybox:1.36", 4),
    ),
    /serverside-applied/,
  );
  const obj = JSON.parse(await ok(["get", "deploy", "ssa", "-o", "json", "--show-managed-fields"]));
  assert.equal(obj.spec.replicas, 4);
  assert.ok(
    obj.metadata.managedFields.some(
      (m: { manager: string; operation: string }) =>
        m.manager === "kubectl" && m.operation === "Apply",
    ),
  );
});

test("kubectl apply switching a deployment to Recreate drops its rollingUpdate ($retainKeys)", async () => {
  await ok(["apply", "-f", "-"], deploymentYaml("recreated", "skiff.local/busybox:1.36"));
  const before = JSON.parse(await ok(["get", "deploy", "recreated", "-o", "json"]));
  assert.equal(before.spec.strategy.type, "RollingUpdate");
  assert.ok(before.spec.strategy.rollingUpdate, "rollingUpdate is defaulted");
  const recreate = deploymentYaml("recreated", "skiff.local/busybox:1.36").replace(
    "  replicas: 2\n",
    "  replicas: 2\n  strategy: {type: Recreate}\n",
  );
  assert.match(await ok(["apply", "-f", "-"], recreate), /deployment\.apps\/recreated configured/);
  const after = JSON.parse(await ok(["get", "deploy", "recreated", "-o", "json"]));
  assert.deepEqual(after.spec.strategy, { type: "Recreate" });
});

test("kubectl get prints tables, wide tables, yaml, json, and honours -l, -A and --field-selector", async () => {
  const table = await ok(["get", "deployments"]);
  assert.match(table, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
  assert.match(table, /^applied\s+0\/2\s+0\s+0\s+\d+s$/m);
  const wide = await ok(["get", "deploy", "-o", "wide"]);
  assert.match(wide, /CONTAINERS\s+IMAGES\s+SELECTOR/);
  assert.match(wide, /web\s+skiff\.local\/busybox:1\.36\.1\s+app=applied/);
  const yaml = await ok(["get", "deploy", "applied", "-o", "yaml"]);
  assert.match(yaml, /^kind: Deployment$/m);
  const json = JSON.parse(await ok(["get", "deploy", "-o", "json"]));
  assert.equal(json.kind, "List");
  const byLabel = await ok(["get", "deploy", "-l", "app=created", "-o", "name"]);
  assert.equal(byLabel.trim(), "deployment.apps/created");
  const all = await ok(["get", "deploy", "-A"]);
  assert.match(all, /^NAMESPACE\s+NAME\s+READY/m);
  assert.match(all, /^default\s+created\s+/m);
  const byField = await ok([
    "get",
    "deploy",
    "--field-selector",
    "metadata.name=applied",
    "-o",
    "name",
  ]);
  assert.equal(byField.trim(), "deployment.apps/applied");
  const svc = await ok(["get", "svc", "created"]);
  assert.match(svc, /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
  assert.match(svc, /^created\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+/m);
});

test("kubectl get -w shows later changes", async () => {
  await ok(["create", "configmap", "watched-first", "--from-literal=a=b"]);
  const child = spawn("kubectl", [`--cache-dir=${cacheDir}`, "get", "configmaps", "-w"], {
    env: { ...process.env, KUBECONFIG: api.kubeconfig },
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const until = async (re: RegExp, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!re.test(out)) {
      if (Date.now() > deadline)
        assert.fail(`timed out waiting for ${what}; kubectl printed:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  try {
    // The initial table first; the configmap made after it can only arrive as a watch event.
    await until(/^watched-first\s+1\s+/m, "the initial table");
    assert.match(out, /^NAME\s+DATA\s+AGE$/m);
    assert.doesNotMatch(out, /watched-later/);
    await ok(["create", "configmap", "watched-later", "--from-literal=a=b"]);
    await until(/^watched-later\s+1\s+/m, "a row for the configmap made while watching");
  } finally {
    child.kill();
  }
});

test("kubectl describe shows the object and its events section", async () => {
  const out = await ok(["describe", "deployment", "applied"]);
  assert.match(out, /^Name:\s+applied$/m);
  assert.match(out, /^Replicas:\s+2 desired/m);
  assert.match(out, /Image:\s+skiff\.local\/busybox:1\.36\.1/);
  assert.match(out, /^Events:/m);
});

test("kubectl label and annotate change metadata", async () => {
  await ok(["label", "deploy", "applied", "tier=web"]);
  await ok(["annotate", "deploy", "applied", "note=hello"]);
  const obj = JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"]));
  assert.equal(obj.metadata.labels.tier, "web");
  assert.equal(obj.metadata.annotations.note, "hello");
  await ok(["label", "deploy", "applied", "tier-"]);
  const after = JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"]));
  assert.equal(after.metadata.labels.tier, undefined);
});

test("kubectl patch works with merge, json and strategic patches", async () => {
  await ok(["patch", "deploy", "applied", "--type", "merge", "-p", '{"spec":{"replicas":3}}']);
  await ok([
    "patch",
    "deploy",
    "applied",
    "--type",
    "json",
    "-p",
    '[{"op":"add","path":"/spec/minReadySeconds","value":5}]',
  ]);
  await ok([
    "patch",
    "deploy",
    "applied",
    "-p",
    '{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"B","value":"2"}]}]}}}}',
  ]);
  const obj = JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"]));
  assert.equal(obj.spec.replicas, 3);
  assert.equal(obj.spec.minReadySeconds, 5);
  const env = obj.spec.template.spec.containers[0].env as { name: string }[];
  assert.deepEqual(
    env.map((e) => e.name).sort(),
    ["A", "B"],
    "the strategic patch merged env by name",
  );
  const bad = await kubectl([
    "patch",
    "deploy",
    "applied",
    "--type",
    "json",
    "-p",
    '[{"op":"test","path":"/spec/replicas","value":99}]',
  ]);
  assert.notEqual(bad.code, 0);
});

test("kubectl scale changes replicas through the scale subresource", async () => {
  await ok(["scale", "deploy", "applied", "--replicas=5"]);
  assert.equal(JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"])).spec.replicas, 5);
  await ok(["scale", "deploy", "applied", "--current-replicas=5", "--replicas=1"]);
  assert.equal(JSON.parse(await ok(["get", "deploy", "applied", "-o", "json"])).spec.replicas, 1);
  const wrong = await kubectl([
    "scale",
    "deploy",
    "applied",
    "--current-replicas=7",
    "--replicas=2",
  ]);
  assert.notEqual(wrong.code, 0);
});

test("kubectl delete with each cascade mode", async () => {
  await ok(["create", "configmap", "bye", "--from-literal=a=b"]);
  assert.match(await ok(["delete", "configmap", "bye"]), /configmap "bye" deleted/);
  assert.notEqual((await kubectl(["get", "configmap", "bye"])).code, 0);
  // Orphan and foreground leave a finalizer that the garbage collector (controller-manager) clears.
  await ok(["delete", "deploy", "created", "--cascade=orphan", "--wait=false"]);
  const orphaned = JSON.parse(await ok(["get", "deploy", "created", "-o", "json"]));
  assert.deepEqual(orphaned.metadata.finalizers, ["orphan"]);
  assert.ok(orphaned.metadata.deletionTimestamp);
  await ok(["delete", "deploy", "ssa", "--cascade=foreground", "--wait=false"]);
  const fg = JSON.parse(await ok(["get", "deploy", "ssa", "-o", "json"]));
  assert.deepEqual(fg.metadata.finalizers, ["foregroundDeletion"]);
  assert.match(await ok(["delete", "deploy", "applied", "--cascade=background"]), /deleted/);
  assert.notEqual((await kubectl(["get", "deploy", "applied"])).code, 0);
});

test("kubectl delete namespace marks it Terminating and it refuses new content", async () => {
  await ok(["create", "namespace", "going"]);
  await ok(["delete", "namespace", "going", "--wait=false"]);
  const ns = JSON.parse(await ok(["get", "namespace", "going", "-o", "json"]));
  assert.equal(ns.status.phase, "Terminating");
  const refused = await kubectl([
    "create",
    "configmap",
    "late",
    "-n",
    "going",
    "--from-literal=a=b",
  ]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /being terminated/);
});

test("kubectl 1.33's protobuf create gets a clear 415, or works", async () => {
  const real = realpathSync(execFileSync("bash", ["-c", "command -v kubectl"]).toString().trim());
  const k133 = join(dirname(real), "kubectl.1.33");
  assert.ok(existsSync(k133), `${k133} is bundled`);
  const r = await kubectl(["create", "deployment", "proto", "--image=skiff.local/busybox:1.36"], {
    binary: k133,
  });
  if (r.code === 0) {
    assert.match(r.stdout, /deployment\.apps\/proto created/);
  } else {
    assert.match(r.stderr, /unknown format|media type|UnsupportedMediaType|415/i);
  }
});

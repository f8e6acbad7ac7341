// skiffctl's writing verbs against a real apiserver: apply, create, delete, scale, label,
// annotate, rollout, describe, config — and the binary itself.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { kubectl, skiffctl, useApiserver, type Result } from "./helpers.js";

const { env, sk, skIn } = useApiserver();

const deployment = (name: string, image: string, replicas = 2): string => `
apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - {name: main, image: "${image}", env: [{name: A, value: "1"}, {name: B, value: "2"}]}
`;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read deep fields of parsed JSON
async function json(...args: string[]): Promise<Record<string, any>> {
  const r = await sk(...args, "-o", "json");
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("apply prints created, then unchanged, then configured, and kubectl agrees nothing changed", async () => {
  const first = await skIn(deployment("api", "nginx:1.25"), "apply", "-f", "-");
  assert.deepEqual([first.code, first.stdout], [0, "deployment.apps/api created\n"]);
  const again = await skIn(deployment("api", "nginx:1.25"), "apply", "-f", "-");
  assert.equal(again.stdout, "deployment.apps/api unchanged\n");
  // Drop env B and change the image: B must go, a label added by someone else must stay.
  assert.equal(
    (await sk("label", "deploy", "api", "team=blue")).stdout,
    "deployment.apps/api labeled\n",
  );
  const changed = deployment("api", "nginx:1.26").replace(', {name: B, value: "2"}', "");
  const third = await skIn(changed, "apply", "-f", "-");
  assert.equal(third.stdout, "deployment.apps/api configured\n");
  const live = await json("get", "deploy", "api");
  const container = live.spec.template.spec.containers[0];
  assert.equal(container.image, "nginx:1.26");
  assert.deepEqual(container.env, [{ name: "A", value: "1" }]);
  assert.equal(live.metadata.labels.team, "blue");
  // The last-applied annotation is written as kubectl writes it: kubectl sees no change.
  const dir = join(env.home, "manifests");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "api.yaml"), changed);
  const theirs = await kubectl(env.api.kubeconfig, env.home, [
    "apply",
    "-f",
    join(dir, "api.yaml"),
  ]);
  assert.equal(theirs.stdout, "deployment.apps/api unchanged\n", theirs.stderr);
});

test("apply reads directories, multi-document files, and applies server-side on request", async () => {
  const dir = join(env.home, "dir");
  mkdirSync(join(dir, "nested"), { recursive: true });
  writeFileSync(
    join(dir, "a.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-b}\n",
  );
  writeFileSync(
    join(dir, "nested", "c.json"),
    JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm-c" } }),
  );
  const flat = await sk("apply", "-f", dir);
  assert.equal(flat.stdout, "configmap/cm-a created\nconfigmap/cm-b created\n");
  const deep = await sk("apply", "-R", "-f", dir);
  assert.equal(
    deep.stdout,
    "configmap/cm-a unchanged\nconfigmap/cm-b unchanged\nconfigmap/cm-c created\n",
  );
  const ssa = await skIn(
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-s}\ndata: {k: v}\n",
    "apply",
    "--server-side",
    "-f",
    "-",
  );
  assert.equal(ssa.stdout, "configmap/cm-s serverside-applied\n", ssa.stderr);
  assert.equal((await json("get", "cm", "cm-s")).data.k, "v");
});

test("create refuses a duplicate with AlreadyExists on one line and exit code 1", async () => {
  const manifest = "apiVersion: v1\nkind: Secret\nmetadata: {name: s1}\nstringData: {a: b}\n";
  assert.equal((await skIn(manifest, "create", "-f", "-")).stdout, "secret/s1 created\n");
  const dup = await skIn(manifest, "create", "-f", "-");
  assert.equal(dup.code, 1);
  assert.equal(dup.stderr, 'Error from server (AlreadyExists): secrets "s1" already exists\n');
});

test("scale writes spec.replicas through the scale subresource", async () => {
  await skIn(deployment("scaled", "nginx"), "apply", "-f", "-");
  const r = await sk("scale", "deploy/scaled", "--replicas=5");
  assert.equal(r.stdout, "deployment.apps/scaled scaled\n");
  assert.equal((await json("get", "deploy", "scaled")).spec.replicas, 5);
  const wrong = await sk("scale", "deploy", "scaled", "--replicas=1", "--current-replicas=2");
  assert.equal(wrong.code, 1);
  assert.equal(wrong.stderr, "error: Expected replicas to be 2, was 5\n");
});

test("label and annotate add, refuse to overwrite without --overwrite, and remove with k-", async () => {
  await sk("run", "lab", "--image=busybox");
  assert.equal((await sk("label", "pod", "lab", "env=dev")).stdout, "pod/lab labeled\n");
  const refused = await sk("label", "pod", "lab", "env=prod");
  assert.equal(refused.code, 1);
  assert.equal(
    refused.stderr,
    "error: 'env' already has a value (dev), and --overwrite is false\n",
  );
  assert.equal((await sk("label", "pod/lab", "env=prod", "--overwrite")).code, 0);
  assert.equal((await sk("annotate", "pods", "lab", "note=hi")).stdout, "pod/lab annotated\n");
  let pod = await json("get", "pod", "lab");
  assert.equal(pod.metadata.labels.env, "prod");
  assert.equal(pod.metadata.annotations.note, "hi");
  await sk("label", "pod", "lab", "env-");
  pod = await json("get", "pod", "lab");
  assert.equal(pod.metadata.labels.env, undefined);
  assert.equal(pod.metadata.labels.run, "lab");
});

test("delete removes by name, by -l and by -f, waiting until they are gone", async () => {
  await sk("run", "d1", "--image=busybox", "--labels=group=x");
  await sk("run", "d2", "--image=busybox", "--labels=group=x");
  await sk("run", "d3", "--image=busybox");
  const byName = await sk("delete", "pod", "d3");
  assert.deepEqual([byName.code, byName.stdout], [0, 'pod "d3" deleted\n']);
  const bySelector = await sk("delete", "pods", "-l", "group=x");
  assert.equal(bySelector.stdout, 'pod "d1" deleted\npod "d2" deleted\n');
  const manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n";
  await skIn(manifest, "create", "-f", "-");
  assert.equal((await skIn(manifest, "delete", "-f", "-")).stdout, 'configmap "gone" deleted\n');
  const left = await sk("get", "pods", "-l", "group=x", "-o", "name");
  assert.equal(left.stdout, "");
  const missing = await sk("delete", "pod", "d3");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'Error from server (NotFound): pods "d3" not found\n');
  const bad = await sk("delete", "pod", "x", "--cascade=sideways");
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr.split("\n").length, 2);
});

test("rollout status waits for the status a controller writes and says when it is done", async () => {
  await skIn(deployment("roll", "nginx", 2), "apply", "-f", "-");
  const path = "/apis/apps/v1/namespaces/default/deployments/roll";
  const writeStatus = async (status: Record<string, unknown>): Promise<void> => {
    const d = (await env.api.request("GET", path)).json;
    const r = await env.api.request("PUT", `${path}/status`, {
      ...d,
      status: { observedGeneration: d.metadata.generation, ...status },
    });
    assert.equal(r.status, 200, r.text);
  };
  await writeStatus({ replicas: 2, updatedReplicas: 1, availableReplicas: 0 });
  const once = await sk("rollout", "status", "deploy/roll", "--watch=false");
  assert.equal(
    once.stdout,
    'Waiting for deployment "roll" rollout to finish: 1 out of 2 new replicas have been updated...\n',
  );
  const watching = sk("rollout", "status", "deployment", "roll", "--timeout=60s");
  await new Promise((r) => setTimeout(r, 700));
  await writeStatus({ replicas: 2, updatedReplicas: 2, availableReplicas: 1 });
  await new Promise((r) => setTimeout(r, 300));
  await writeStatus({ replicas: 2, updatedReplicas: 2, availableReplicas: 2, readyReplicas: 2 });
  const done = await watching;
  assert.equal(done.code, 0, done.stderr);
  const lines = done.stdout.trim().split("\n");
  assert.equal(
    lines[0],
    'Waiting for deployment "roll" rollout to finish: 1 out of 2 new replicas have been updated...',
  );
  assert.equal(lines[lines.length - 1], 'deployment "roll" successfully rolled out');
  assert.ok(
    lines.includes(
      'Waiting for deployment "roll" rollout to finish: 1 of 2 updated replicas are available...',
    ),
    done.stdout,
  );
});

test("rollout restart and pause/resume patch the deployment", async () => {
  await skIn(deployment("rr", "nginx"), "apply", "-f", "-");
  assert.equal(
    (await sk("rollout", "restart", "deploy/rr")).stdout,
    "deployment.apps/rr restarted\n",
  );
  const d = await json("get", "deploy", "rr");
  assert.match(
    d.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"],
    /^\d{4}-\d\d-\d\dT/,
  );
  assert.equal((await sk("rollout", "pause", "deploy/rr")).stdout, "deployment.apps/rr paused\n");
  assert.equal((await json("get", "deploy", "rr")).spec.paused, true);
  assert.equal((await sk("rollout", "resume", "deploy/rr")).stdout, "deployment.apps/rr resumed\n");
  // Resumed: the field is gone, as kubectl's {"spec":{"paused":null}} leaves it.
  assert.equal((await json("get", "deploy", "rr")).spec.paused, undefined);
});

test("describe shows the key fields and the object's events", async () => {
  await sk("run", "described", "--image=busybox", "--port=8080");
  const pod = await json("get", "pod", "described");
  const event = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "described.1", namespace: "default" },
    involvedObject: {
      apiVersion: "v1",
      kind: "Pod",
      name: "described",
      namespace: "default",
      uid: pod.metadata.uid,
    },
    reason: "Scheduled",
    message: "Successfully assigned default/described to node-1",
    type: "Normal",
    source: { component: "default-scheduler" },
    firstTimestamp: new Date().toISOString(),
    lastTimestamp: new Date().toISOString(),
    count: 1,
  };
  assert.equal(
    (await env.api.request("POST", "/api/v1/namespaces/default/events", event)).status,
    201,
  );
  const r = await sk("describe", "pod", "described");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Name:\s+described$/m);
  assert.match(r.stdout, /^Labels:\s+run=described$/m);
  assert.match(r.stdout, /^\s+Image:\s+busybox$/m);
  assert.match(r.stdout, /^\s+Port:\s+8080\/TCP$/m);
  assert.match(r.stdout, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
  assert.match(
    r.stdout,
    /Normal\s+Scheduled\s+\d+s\s+default-scheduler\s+Successfully assigned default\/described to node-1/,
  );
});

test("config get-contexts, current-context and use-context work on the kubeconfig", async () => {
  const r = await sk("config", "get-contexts");
  const theirs = await kubectl(env.api.kubeconfig, env.home, ["config", "get-contexts"]);
  assert.equal(r.stdout, theirs.stdout);
  const current = (await sk("config", "current-context")).stdout.trim();
  assert.ok(r.stdout.includes(`*         ${current}`), r.stdout);
  const missing = await sk("config", "use-context", "nope");
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'error: no context exists with the name: "nope"\n');
  const view = await sk("config", "view");
  assert.match(view.stdout, /DATA\+OMITTED/);
  const set = await sk("config", "set-context", "--current", "--namespace=team-a");
  assert.equal(set.stdout, `Context "${current}" modified.\n`);
  assert.match((await sk("config", "get-contexts")).stdout, /kubernetes-admin\s+team-a\n$/);
  const list = await sk("get", "pods");
  assert.equal(list.stderr, "No resources found in team-a namespace.\n");
  await sk("config", "set-context", "--current", "--namespace=default");
});

test("the skiffctl program runs from the command line and exits non-zero on errors", async () => {
  const main = new URL("../src/main.ts", import.meta.url).pathname;
  const spawn = (args: string[]): Promise<Result> =>
    new Promise((resolve) =>
      execFile(
        process.execPath,
        ["--conditions=source", "--import", "tsx", main, ...args],
        {
          env: { ...process.env, KUBECONFIG: env.api.kubeconfig, HOME: env.home },
          timeout: 60_000,
        },
        (err, stdout, stderr) => {
          const code = err ? (err as { code?: unknown }).code : 0;
          resolve({ code: typeof code === "number" ? code : 1, stdout, stderr });
        },
      ),
    );
  const ok = await spawn(["get", "ns", "default", "-o", "name"]);
  assert.deepEqual([ok.code, ok.stdout], [0, "namespace/default\n"]);
  const v = await spawn(["version"]);
  assert.match(v.stdout, /^Client Version: .*\nServer Version: v1\.31/);
  const bad = await spawn(["get", "deploy", "missing"]);
  assert.equal(bad.code, 1);
  assert.equal(bad.stderr, 'Error from server (NotFound): deployments.apps "missing" not found\n');
});

test("edit opens the object in $EDITOR and saves what the editor wrote", async () => {
  await skIn(
    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: edited}\ndata: {color: red}\n",
    "apply",
    "-f",
    "-",
  );
  const edit = (editor: string): Promise<Result> =>
    skiffctl(env.api.kubeconfig, env.home, ["edit", "cm", "edited"], { env: { EDITOR: editor } });
  const r = await edit("sed -i s/red/blue/");
  assert.deepEqual([r.code, r.stdout], [0, "configmap/edited edited\n"], r.stderr);
  assert.equal((await json("get", "cm", "edited")).data.color, "blue");
  const cancelled = await edit("true");
  assert.equal(cancelled.stdout, "Edit cancelled, no changes made.\n");
});

test("no command prints the help; an unknown one is a one-line error", async () => {
  const help = await sk();
  assert.equal(help.code, 0);
  assert.match(help.stdout, /skiffctl get \[resources\.\.\]/);
  const unknown = await sk("frobnicate");
  assert.deepEqual([unknown.code, unknown.stderr], [1, "error: Unknown command: frobnicate\n"]);
  const flag = await sk("get", "pods", "--colour=always");
  assert.equal(flag.code, 1);
  assert.equal(flag.stderr.split("\n")[0], "error: unknown flag: --colour");
  const short = await sk("get", "pods", "-z");
  assert.equal(short.stderr.split("\n")[0], "error: unknown flag: -z");
  // Declared flags, negations and bundles still work.
  assert.equal((await sk("get", "pods", "--no-headers", "-A")).code, 0);
});

test("create generators build what kubectl create deployment|namespace|configmap|secret builds", async () => {
  assert.equal((await sk("create", "namespace", "gen-ns")).stdout, "namespace/gen-ns created\n");
  const d = await sk(
    "create",
    "deployment",
    "gen",
    "--image=registry.local/team/nginx:1.27",
    "--replicas=2",
  );
  assert.deepEqual([d.code, d.stdout], [0, "deployment.apps/gen created\n"], d.stderr);
  const live = await json("get", "deploy", "gen");
  assert.deepEqual(live.spec.selector, { matchLabels: { app: "gen" } });
  assert.equal(live.spec.replicas, 2);
  assert.equal(live.spec.template.spec.containers[0].name, "nginx");
  assert.equal(
    (await sk("create", "cm", "gen-cm", "--from-literal=a=1", "--from-literal=b=x=y")).code,
    0,
  );
  assert.deepEqual((await json("get", "cm", "gen-cm")).data, { a: "1", b: "x=y" });
  assert.equal(
    (await sk("create", "secret", "generic", "gen-s", "--from-literal=pw=hunter2")).stdout,
    "secret/gen-s created\n",
  );
  assert.equal(
    (await json("get", "secret", "gen-s")).data.pw,
    Buffer.from("hunter2").toString("base64"),
  );
  const missing = await sk("create", "deployment", "noimage");
  assert.deepEqual(
    [missing.code, missing.stderr],
    [1, 'error: required flag(s) "image" not set\n'],
  );
});

// API Priority and Fairness enforced: requests classified by Kubernetes' bootstrap FlowSchemas,
// each priority level's seats and queues, 429s with Retry-After (which the client waits out),
// and the response headers naming the FlowSchema and level — on a real etcd and apiserver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import type { ClientRequest, IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RestClient } from "@skiff/client";
import { startApiserver, type TestApiserver } from "@skiff/testing";
import { requestAttributes } from "../src/authz/attributes.js";
import type { UserInfo } from "../src/auth.js";
import { PriorityAndFairness, dealHand, type Admitted } from "../src/fairness.js";
import { bootstrapObjects } from "../src/flowcontrol.js";
import { runKubectl, tokenKubeconfigFor } from "./kubectl-users.js";
import type { KubeObject } from "../src/objects.js";

const FLOWCONTROL = "/apis/flowcontrol.apiserver.k8s.io/v1";

function objects(kind: "FlowSchema" | "PriorityLevelConfiguration", extra: KubeObject[] = []) {
  return [...bootstrapObjects(kind).map((o) => o.object), ...extra];
}

function fairness(serverConcurrency: number, levels: KubeObject[] = [], flows: KubeObject[] = []) {
  return new PriorityAndFairness({
    serverConcurrency,
    source: {
      flowSchemas: () => objects("FlowSchema", flows),
      priorityLevels: () => objects("PriorityLevelConfiguration", levels),
      stamp: () => "fixed",
    },
  });
}

const attrs = (user: UserInfo, method: string, path: string) =>
  requestAttributes(user, method, path, new URLSearchParams());

test("Kubernetes' bootstrap FlowSchemas classify the components' requests", () => {
  const apf = fairness(600);
  const flowOf = (user: UserInfo, method: string, path: string) =>
    apf.classify(attrs(user, method, path)).name;
  const scheduler = { name: "system:kube-scheduler", groups: ["system:authenticated"] };
  const kubelet = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
  const sa = {
    name: "system:serviceaccount:apps:builder",
    groups: ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"],
  };
  const admin = { name: "admin", groups: ["system:masters", "system:authenticated"] };
  const anonymous = { name: "system:anonymous", groups: ["system:unauthenticated"] };
  const lease = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-scheduler";
  assert.equal(flowOf(scheduler, "PUT", lease), "system-leader-election");
  assert.equal(flowOf(scheduler, "POST", "/api/v1/namespaces/a/pods/p/binding"), "kube-scheduler");
  assert.equal(flowOf(kubelet, "PUT", "/api/v1/nodes/n1/status"), "system-node-high");
  assert.equal(
    flowOf(kubelet, "PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1"),
    "system-node-high",
  );
  assert.equal(flowOf(kubelet, "GET", "/api/v1/namespaces/a/secrets/s"), "system-nodes");
  assert.equal(flowOf(sa, "POST", "/api/v1/namespaces/apps/pods"), "service-accounts");
  assert.equal(flowOf(admin, "DELETE", "/api/v1/nodes/n1"), "exempt");
  assert.equal(flowOf(anonymous, "GET", "/readyz"), "probes");
  assert.equal(flowOf(anonymous, "GET", "/version"), "global-default");
  assert.equal(
    flowOf({ name: "alice", groups: ["system:authenticated"] }, "GET", "/api/v1/pods"),
    "global-default",
  );

  // The level's seats are the server's shared by nominalConcurrencyShares, rounded up
  // (workload-low 100 of the 245 shares of 600 seats).
  const seats = apf.nominalSeats();
  assert.equal(seats["workload-low"], Math.ceil((600 * 100) / 245));
  assert.equal(seats["leader-election"], Math.ceil((600 * 10) / 245));
});

test("a FlowSchema of lower matchingPrecedence wins, and one naming a missing level is skipped", () => {
  const flow = (name: string, precedence: number, level: string): KubeObject => ({
    apiVersion: "flowcontrol.apiserver.k8s.io/v1",
    kind: "FlowSchema",
    metadata: { name, uid: `uid-${name}` },
    spec: {
      priorityLevelConfiguration: { name: level },
      matchingPrecedence: precedence,
      rules: [
        {
          subjects: [{ kind: "User", user: { name: "alice" } }],
          resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"], namespaces: ["*"] }],
        },
      ],
    },
  });
  const apf = fairness(
    600,
    [],
    [flow("dangling", 10, "no-such-level"), flow("alice", 20, "workload-high")],
  );
  const alice = { name: "alice", groups: ["system:authenticated"] };
  assert.equal(apf.classify(attrs(alice, "GET", "/api/v1/namespaces/a/pods")).name, "alice");
  // alice's rule has no clusterScope: a cluster-scoped request falls through to global-default.
  assert.equal(apf.classify(attrs(alice, "GET", "/api/v1/nodes")).name, "global-default");
});

const level = (name: string, limited: Record<string, unknown>): KubeObject => ({
  apiVersion: "flowcontrol.apiserver.k8s.io/v1",
  kind: "PriorityLevelConfiguration",
  metadata: { name, uid: `uid-${name}` },
  spec: { type: "Limited", limited },
});

const floodSchema = (levelName: string, distinguisher?: string): KubeObject => ({
  apiVersion: "flowcontrol.apiserver.k8s.io/v1",
  kind: "FlowSchema",
  metadata: { name: "flood", uid: "uid-flood" },
  spec: {
    priorityLevelConfiguration: { name: levelName },
    matchingPrecedence: 50,
    ...(distinguisher ? { distinguisherMethod: { type: distinguisher } } : {}),
    rules: [
      {
        subjects: [{ kind: "Group", group: { name: "flooders" } }],
        resourceRules: [
          {
            verbs: ["*"],
            apiGroups: ["*"],
            resources: ["*"],
            namespaces: ["*"],
            clusterScope: true,
          },
        ],
      },
    ],
  },
});

test("a flow that floods its level waits on its own queue while another flow's request gets the next seat", async () => {
  // One seat, no borrowing; each flow (by user) gets one queue of 64.
  const queued = level("queued", {
    nominalConcurrencyShares: 1,
    lendablePercent: 0,
    borrowingLimitPercent: 0,
    limitResponse: { type: "Queue", queuing: { queues: 64, handSize: 1, queueLengthLimit: 10 } },
  });
  const apf = fairness(1, [queued], [floodSchema("queued", "ByUser")]);
  const user = (name: string) => ({ name, groups: ["flooders", "system:authenticated"] });
  // Two users whose flows are dealt different queues.
  const queueOf = (name: string) => dealHand(`flood\0${name}`, 64, 1)[0];
  const other = ["bob", "carol", "dave", "erin"].find((n) => queueOf(n) !== queueOf("alice"))!;
  const get = (name: string) =>
    apf.admit(attrs(user(name), "GET", "/api/v1/namespaces/a/pods/p"), false, () => {});
  const order: string[] = [];
  const seats = new Map<string, Admitted>();
  const queue = (label: string, name: string) =>
    get(name).then((s) => {
      order.push(label);
      seats.set(label, s);
    });
  const first = await get("alice");
  const waiting = [1, 2, 3, 4].map((i) => queue(`alice-${i}`, "alice"));
  waiting.push(queue(other, other));
  // Each seat given back goes to the next queue in turn; each one dispatched gives it back.
  first.release();
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    assert.equal(order.length, i + 1, "one request runs per seat given back");
    seats.get(order[i]!)!.release();
  }
  await Promise.all(waiting);
  assert.equal(order.length, 5);
  assert.ok(order.indexOf(other) <= 1, `${other} waited behind alice's flood: ${order.join(", ")}`);
  assert.deepEqual(
    order.filter((n) => n.startsWith("alice")),
    ["alice-1", "alice-2", "alice-3", "alice-4"],
  );
});

test("a level that borrows takes other levels' lendable seats only, and gives them back", async () => {
  const tight = level("tight", {
    nominalConcurrencyShares: 1,
    lendablePercent: 0,
    limitResponse: { type: "Reject" },
  });
  const apf = fairness(245 + 1, [tight], [floodSchema("tight")]);
  const flooder = { name: "f", groups: ["flooders"] };
  const get = () => apf.admit(attrs(flooder, "GET", "/api/v1/nodes/n"), false, () => {});
  const seats = [];
  // Its own seat, then the lendable seats of the others, then 429.
  const nominal = apf.nominalSeats();
  const lendable =
    Math.round(nominal["node-high"]! * 0.25) +
    Math.round(nominal.system! * 0.33) +
    Math.round(nominal["workload-high"]! * 0.5) +
    Math.round(nominal["workload-low"]! * 0.9) +
    Math.round(nominal["global-default"]! * 0.5);
  for (let i = 0; i < nominal.tight! + lendable; i++) seats.push(await get());
  await assert.rejects(get(), (e: { code: number; reason: string }) => {
    assert.equal(e.code, 429);
    assert.equal(e.reason, "TooManyRequests");
    return true;
  });
  seats.pop()!.release();
  seats.push(await get());
  for (const s of seats) s.release();
});

// --- on a real apiserver ---

const dir = mkdtempSync(join(tmpdir(), "skiff-fairness-"));
const tokenFile = join(dir, "tokens.csv");
writeFileSync(tokenFile, 'flood-token,flood,uid-flood,"flooders"\nother-token,other,uid-other,\n');
let api: TestApiserver;

before(async () => {
  // 10 seats for the whole server: every level gets at least one.
  api = await startApiserver({
    tokenAuthFile: tokenFile,
    maxRequestsInflight: 10,
    maxMutatingRequestsInflight: 0,
  });
  const ok = async (path: string, body: unknown) => {
    const res = await api.request("POST", path, body);
    assert.equal(res.status, 201, res.text);
  };
  await ok("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: "flooders-edit" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "cluster-admin" },
    subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "flooders" }],
  });
  await ok(
    `${FLOWCONTROL}/prioritylevelconfigurations`,
    level("one-seat", {
      nominalConcurrencyShares: 1,
      lendablePercent: 0,
      borrowingLimitPercent: 0,
      limitResponse: { type: "Reject" },
    }),
  );
  await ok(`${FLOWCONTROL}/flowschemas`, floodSchema("one-seat"));
});

after(async () => {
  await api?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A create whose body is held back: it holds its seat until `finish`. */
function slowCreate(name: string): { finish: () => Promise<IncomingMessage>; sent: ClientRequest } {
  const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });
  const req = httpsRequest(`${api.url}/api/v1/namespaces/default/configmaps`, {
    method: "POST",
    ca: certFile("ca.crt"),
    headers: {
      Authorization: "Bearer flood-token",
      "Content-Type": "application/json",
      "Content-Length": String(body.length),
    },
  });
  const answered = new Promise<IncomingMessage>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      resolve(res);
    });
    req.on("error", reject);
  });
  req.write(body.slice(0, 10));
  return {
    sent: req,
    finish: () => {
      req.end(body.slice(10));
      return answered;
    },
  };
}

function certFile(name: string): Buffer {
  return readFileSync(join(api.certDir, name));
}

async function waitFor(what: string, check: () => Promise<boolean>) {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const executing = async () => {
  const text = (await api.request("GET", "/metrics")).text;
  const m =
    /apiserver_flowcontrol_current_executing_requests\{priority_level="one-seat",flow_schema="flood"\} (\d+)/.exec(
      text,
    );
  return Number(m?.[1] ?? 0);
};

test("a level with no seat free answers 429 with Retry-After; other levels and exempt users go on", async () => {
  const held = slowCreate("held");
  await waitFor("the held create to take the seat", async () => (await executing()) === 1);

  const refused = await api.request("GET", "/api/v1/namespaces/default/configmaps", undefined, {
    auth: { token: "flood-token" },
  });
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.headers["retry-after"], "1");
  assert.equal(refused.json.reason, "TooManyRequests");
  assert.equal(refused.json.details?.retryAfterSeconds, 1);

  // Another user (global-default) and the admin (exempt) are served meanwhile.
  const other = await api.request("GET", "/version", undefined, { auth: { token: "other-token" } });
  assert.equal(other.status, 200);
  const admin = await api.request("GET", "/api/v1/namespaces/default/configmaps");
  assert.equal(admin.status, 200);

  assert.equal((await held.finish()).statusCode, 201);
  const metrics = (await api.request("GET", "/metrics")).text;
  assert.match(
    metrics,
    /apiserver_flowcontrol_rejected_requests_total\{priority_level="one-seat",flow_schema="flood",reason="concurrency-limit"\} 1/,
  );
  const again = await api.request("GET", "/api/v1/namespaces/default/configmaps/held", undefined, {
    auth: { token: "flood-token" },
  });
  assert.equal(again.status, 200, again.text);
});

test("answers name their FlowSchema and priority level by uid", async () => {
  const flows = (await api.request("GET", `${FLOWCONTROL}/flowschemas/flood`)).json;
  const levels = (await api.request("GET", `${FLOWCONTROL}/prioritylevelconfigurations/one-seat`))
    .json;
  const res = await api.request("GET", "/api/v1/namespaces/default/configmaps", undefined, {
    auth: { token: "flood-token" },
  });
  assert.equal(res.headers["x-kubernetes-pf-flowschema-uid"], flows.metadata.uid);
  assert.equal(res.headers["x-kubernetes-pf-prioritylevel-uid"], levels.metadata.uid);
  const exempt = (await api.request("GET", `${FLOWCONTROL}/flowschemas/exempt`)).json;
  const asAdmin = await api.request("GET", "/api/v1/namespaces");
  assert.equal(asAdmin.headers["x-kubernetes-pf-flowschema-uid"], exempt.metadata.uid);
});

test("the client waits out a 429's Retry-After and sends the request again", async () => {
  const held = slowCreate("held-2");
  await waitFor("the held create to take the seat", async () => (await executing()) === 1);
  const client = new RestClient({
    server: api.url,
    ca: certFile("ca.crt").toString(),
    token: "flood-token",
    namespace: "default",
  });
  try {
    const started = Date.now();
    const got = client.request("GET", "/api/v1/namespaces/default/configmaps");
    setTimeout(() => void held.finish(), 1500);
    const list = (await got) as { items: unknown[] };
    assert.ok(Array.isArray(list.items));
    // Refused at least once (the seat was held for 1.5 s), then served.
    assert.ok(Date.now() - started >= 1000, `answered after ${Date.now() - started} ms`);
  } finally {
    client.close();
  }
});

test("the real kubectl waits out a 429's Retry-After as well", async () => {
  const held = slowCreate("held-3");
  await waitFor("the held create to take the seat", async () => (await executing()) === 1);
  const started = Date.now();
  setTimeout(() => void held.finish(), 1500);
  const got = await runKubectl(
    ["get", "configmaps", "-n", "default", "-o", "name"],
    tokenKubeconfigFor(api, dir, "flood-token"),
  );
  assert.equal(got.code, 0, got.err);
  assert.match(got.out, /configmap\/held-3/);
  assert.ok(Date.now() - started >= 1000, `answered after ${Date.now() - started} ms`);
});

test("a FlowSchema whose priority level does not exist is marked Dangling, and unmarked once it does", async () => {
  const schema = floodSchema("not-yet");
  (schema.metadata as { name: string }).name = "waiting";
  const created = await api.request("POST", `${FLOWCONTROL}/flowschemas`, schema);
  assert.equal(created.status, 201, created.text);
  const dangling = async (want: string) => {
    let last: unknown;
    await waitFor(`the Dangling condition ${want}`, async () => {
      const fs = (await api.request("GET", `${FLOWCONTROL}/flowschemas/waiting`)).json;
      last = fs.status?.conditions?.find((c: { type: string }) => c.type === "Dangling");
      return (last as { status?: string } | undefined)?.status === want;
    });
    return last as { reason: string; message: string; lastTransitionTime: string };
  };
  const before = await dangling("True");
  assert.equal(before.reason, "NotFound");
  assert.equal(
    before.message,
    'This FlowSchema references the PriorityLevelConfiguration object named "not-yet" but there is no such object',
  );
  assert.match(before.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const made = await api.request(
    "POST",
    `${FLOWCONTROL}/prioritylevelconfigurations`,
    level("not-yet", { nominalConcurrencyShares: 1, limitResponse: { type: "Reject" } }),
  );
  assert.equal(made.status, 201, made.text);
  const after = await dangling("False");
  assert.equal(after.reason, "Found");
});

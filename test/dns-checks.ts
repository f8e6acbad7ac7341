// Cluster DNS as a pod sees it, asked with Debian's dig from skiff.local/dnsutils: what both
// end-to-end suites (make up's journey and the compose cluster) check on their cluster.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./lib.js";

export type Kubectl = (...args: string[]) => Promise<string>;

const manifest = (ns: string, node?: string) => `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: named, namespace: ${ns}}
spec:
  replicas: 2
  selector: {matchLabels: {app: named}}
  template:
    metadata: {labels: {app: named}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: skiff.local/busybox:1.36
        command: ["httpd", "-f", "-p", "8080", "-h", "/"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: named, namespace: ${ns}}
spec:
  selector: {app: named}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: headless, namespace: ${ns}}
spec:
  clusterIP: None
  selector: {app: named}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: elsewhere, namespace: ${ns}}
spec:
  type: ExternalName
  externalName: db.example.invalid
---
apiVersion: v1
kind: Pod
metadata: {name: dig, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1${node ? `\n  nodeName: ${node}` : ""}
  containers:
  - {name: dig, image: skiff.local/dnsutils:1, imagePullPolicy: Never, command: ["sleep", "1000000"]}
`;

/**
 * Applies the fixtures in namespace `ns` (the dig pod on `node` when given), checks every kind
 * of record, and how fast a new and a deleted Service show; deletes the namespace at the end.
 */
export async function checkClusterDNS(kubectl: Kubectl, ns: string, node?: string) {
  const dir = mkdtempSync(join(tmpdir(), "skiff-dns-checks-"));
  try {
    writeFileSync(join(dir, "dns.yaml"), manifest(ns, node));
    await kubectl("apply", "-f", join(dir, "dns.yaml"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await kubectl("-n", ns, "rollout", "status", "deploy/named", "--timeout=120s");
  await kubectl("-n", ns, "wait", "--for=condition=Ready", "pod/dig", "--timeout=120s");
  const dig = async (...args: string[]) =>
    (await kubectl("-n", ns, "exec", "dig", "--", "dig", "+time=2", "+tries=1", ...args)).trim();
  const short = async (...args: string[]) => (await dig("+short", ...args)).split("\n").sort();
  const ip = (svc: string) =>
    kubectl("-n", ns, "get", "svc", svc, "-o", "jsonpath={.spec.clusterIP}");
  const podIPs = (
    await kubectl(
      "-n",
      ns,
      "get",
      "pods",
      "-l",
      "app=named",
      "-o",
      "jsonpath={.items[*].status.podIP}",
    )
  )
    .split(" ")
    .sort();
  const zone = `${ns}.svc.cluster.local`;

  // Names through the pod's search path, as applications use them.
  await eventually("kubernetes.default resolving", async () => {
    return (await short("+search", "kubernetes.default"))[0] === "10.96.0.1";
  });
  assert.deepEqual(await short("+search", "named"), [await ip("named")]);
  assert.deepEqual(await short("+search", `named.${ns}`), [await ip("named")]);
  assert.deepEqual(await short(`named.${zone}`), [await ip("named")]);
  // A headless Service: one A record per ready endpoint.
  assert.deepEqual(await short(`headless.${zone}`), podIPs);
  // SRV for a named port: priority weight port target.
  const srv = await short("SRV", `_http._tcp.named.${zone}`);
  assert.deepEqual(srv, [`0 100 80 named.${zone}.`]);
  // PTR for a ClusterIP, CNAME for an ExternalName, the pod record a-b-c-d.<ns>.pod.
  assert.deepEqual(await short("-x", await ip("named")), [`named.${zone}.`]);
  assert.deepEqual(await short("CNAME", `elsewhere.${zone}`), ["db.example.invalid."]);
  const podIP = podIPs[0]!;
  assert.deepEqual(await short(`${podIP.replaceAll(".", "-")}.${ns}.pod.cluster.local`), [podIP]);
  // A name in the zone that does not exist: NXDOMAIN with the zone's SOA.
  assert.match(
    await dig(`missing.${zone}`),
    /status: NXDOMAIN[\s\S]*cluster\.local\.\s+\d+\s+IN\s+SOA/,
  );

  // A Service made now is resolvable within 1 s of its creation; deleted, gone within 1 s.
  // The pod polls (so kubectl's round trips do not count) and prints when the answer changed.
  const watchFor = (name: string, wantAnswer: boolean) =>
    kubectl(
      "-n",
      ns,
      "exec",
      "dig",
      "--",
      "sh",
      "-c",
      `end=$(($(date +%s) + 20)); while [ $(date +%s) -lt $end ]; do ` +
        `a=$(dig +short +time=1 +tries=1 ${name}.${zone}); ` +
        `if [ ${wantAnswer ? "-n" : "-z"} "$a" ]; then date +%s%3N; exit 0; fi; sleep 0.05; done; exit 1`,
    );
  const created = watchFor("fresh", true);
  await new Promise((r) => setTimeout(r, 1500)); // the poller is running
  await kubectl("-n", ns, "create", "service", "clusterip", "fresh", "--tcp=80:8080");
  const createdAt = Date.now(); // the Service exists from here on (or a little before)
  const seenAt = Number((await created).trim());
  assert.ok(seenAt - createdAt <= 1000, `a new Service resolvable after ${seenAt - createdAt} ms`);
  const deleted = watchFor("fresh", false);
  await new Promise((r) => setTimeout(r, 1500));
  await kubectl("-n", ns, "delete", "service", "fresh", "--wait=false");
  const deletedAt = Date.now();
  const goneAt = Number((await deleted).trim());
  assert.ok(goneAt - deletedAt <= 1000, `a deleted Service gone after ${goneAt - deletedAt} ms`);

  // A name outside the zone: no upstream answers here, so SERVFAIL, fast, never a hang.
  const started = Date.now();
  const outside = await dig("+search", "skiff-test.example.com");
  assert.match(outside, /status: SERVFAIL/);
  assert.ok(
    Date.now() - started < 5000,
    `SERVFAIL for an outside name took ${Date.now() - started} ms`,
  );

  await kubectl("delete", "namespace", ns, "--wait=false");
}

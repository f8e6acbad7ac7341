// The small operator, end to end: a Website custom resource becomes a Deployment and
// a Service (then ReplicaSet and pods through the real controllers), its status is written
// back, spec changes roll through, and deleting the Website garbage-collects what it owns.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { customResourceInfos, resourceInfo } from "@skiff/api";
import { isNotFound, type KubeObject } from "@skiff/client";
import { eventually, simulateKubelet, startCluster, type Cluster } from "./helpers.js";
import { WebsiteOperator, websiteCRD, type Unstructured } from "./website-operator.js";

let c: Cluster;
let operator: WebsiteOperator;
let stopKubelet: () => Promise<void>;
before(async () => {
  c = await startCluster(["deployment", "replicaset", "garbagecollector"]);
  const crds = c.client.resource<KubeObject>(
    resourceInfo("apiextensions.k8s.io", "v1", "customresourcedefinitions"),
  );
  await crds.create(websiteCRD as KubeObject);
  await eventually(
    async () => (await c.api.request("GET", "/apis/sites.example.com/v1/websites")).status === 200,
    "websites served",
  );
  stopKubelet = simulateKubelet(c, "default");
  operator = new WebsiteOperator(c.client);
  await operator.start();
});
after(async () => {
  await operator?.stop();
  await stopKubelet?.();
  await c?.stop();
});

const sites = () =>
  c.client.resource<Unstructured>(customResourceInfos(websiteCRD)[0]!).namespace("default");
const services = () => c.client.resource<Unstructured>(resourceInfo("", "v1", "services"));

test("a Website becomes a Deployment and a Service, with status written back", async () => {
  await sites().create({
    apiVersion: "sites.example.com/v1",
    kind: "Website",
    metadata: { name: "blog", namespace: "default" },
    spec: { domain: "blog.example.com", replicas: 2 },
  } as KubeObject);
  const dep = await eventually(
    () => c.deployments.namespace("default").get("blog"),
    "the Deployment",
  );
  assert.equal(dep.spec?.replicas, 2);
  assert.equal(dep.spec?.template.spec?.containers[0]?.image, "skiff.local/busybox:1.36");
  assert.equal(dep.metadata.ownerReferences?.[0]?.kind, "Website");
  // The operator writes the Service after the Deployment.
  const svc = await eventually(() => services().namespace("default").get("blog"), "the Service");
  assert.deepEqual((svc.spec as { ports: { targetPort: number }[] }).ports[0]!.targetPort, 8080);
  const site = await eventually(async () => {
    const w = await sites().get("blog");
    const status = w.status as { readyReplicas?: number } | undefined;
    return status?.readyReplicas === 2 ? w : undefined;
  }, "status.readyReplicas 2");
  assert.deepEqual(site.status, {
    deployment: "blog",
    url: "http://blog.default.svc",
    readyReplicas: 2,
    observedGeneration: 1,
  });

  // A spec change rolls through to the Deployment.
  await c.client
    .resource<KubeObject>(customResourceInfos(websiteCRD)[0]!)
    .namespace("default")
    .patch("blog", { spec: { replicas: 3 } }, "merge");
  await eventually(async () => {
    const w = await sites().get("blog");
    return (w.status as { readyReplicas?: number }).readyReplicas === 3;
  }, "three ready replicas reported");
  assert.equal((await c.deployments.namespace("default").get("blog")).spec?.replicas, 3);
});

test("deleting a Website deletes its Deployment and Service", async () => {
  await sites().delete("blog", { propagationPolicy: "Background" });
  await eventually(async () => {
    const gone = (p: Promise<unknown>) =>
      p.then(
        () => false,
        (e: unknown) => isNotFound(e),
      );
    return (
      (await gone(c.deployments.namespace("default").get("blog"))) &&
      (await gone(services().namespace("default").get("blog")))
    );
  }, "owned objects deleted");
});

import { test } from "node:test";
import assert from "node:assert/strict";
import { Store, metaNamespaceKey, splitMetaNamespaceKey, type KubeObject } from "@skiff/client";

interface Pod extends KubeObject {
  spec: { nodeName?: string };
}
const pod = (namespace: string, name: string, nodeName?: string, rv = "1"): Pod => ({
  metadata: { namespace, name, resourceVersion: rv },
  spec: nodeName ? { nodeName } : {},
});

test("objects are keyed by namespace/name, cluster-scoped ones by name", () => {
  assert.equal(metaNamespaceKey(pod("default", "web")), "default/web");
  assert.equal(metaNamespaceKey({ metadata: { name: "node-1" } }), "node-1");
  assert.deepEqual(splitMetaNamespaceKey("default/web"), { namespace: "default", name: "web" });
  assert.deepEqual(splitMetaNamespaceKey("node-1"), { namespace: "", name: "node-1" });
  const s = new Store<Pod>();
  s.add(pod("default", "web"));
  assert.deepEqual(s.listKeys(), ["default/web"]);
  assert.equal(s.get("default/web")?.metadata.name, "web");
  assert.equal(s.get("other/web"), undefined);
});

test("the namespace index finds a namespace's objects", () => {
  const s = new Store<Pod>();
  s.add(pod("default", "a"));
  s.add(pod("default", "b"));
  s.add(pod("kube-system", "c"));
  assert.deepEqual(
    s
      .byIndex("namespace", "default")
      .map((p) => p.metadata.name)
      .sort(),
    ["a", "b"],
  );
  assert.deepEqual(s.byIndex("namespace", "nothing"), []);
});

test("a custom index follows updates and deletes", () => {
  const s = new Store<Pod>({ byNode: (p) => [p.spec.nodeName] });
  s.add(pod("default", "a", "n1"));
  s.add(pod("default", "b", "n1"));
  s.add(pod("default", "c")); // unscheduled: not indexed
  assert.deepEqual(s.indexKeys("byNode", "n1").sort(), ["default/a", "default/b"]);
  s.update(pod("default", "a", "n2", "2"));
  assert.deepEqual(s.indexKeys("byNode", "n1"), ["default/b"]);
  assert.deepEqual(s.indexKeys("byNode", "n2"), ["default/a"]);
  s.delete(pod("default", "b"));
  assert.deepEqual(s.indexKeys("byNode", "n1"), []);
  assert.deepEqual(s.indexValues("byNode"), ["n2"]);
  assert.throws(() => s.byIndex("nope", "x"), /index "nope" does not exist/);
});

test("an indexer added later indexes what is already cached", () => {
  const s = new Store<Pod>();
  s.add(pod("default", "a", "n1"));
  s.addIndexers({ byNode: (p) => [p.spec.nodeName] });
  assert.deepEqual(s.indexKeys("byNode", "n1"), ["default/a"]);
  assert.throws(() => s.addIndexers({ byNode: () => [] }), /already exists/);
});

test("replace swaps the whole content and records the list's resourceVersion", () => {
  const s = new Store<Pod>({ byNode: (p) => [p.spec.nodeName] });
  s.add(pod("default", "old", "n1"));
  s.replace([pod("default", "new", "n2")], "42");
  assert.deepEqual(s.listKeys(), ["default/new"]);
  assert.deepEqual(s.indexKeys("byNode", "n1"), []);
  assert.deepEqual(s.indexKeys("byNode", "n2"), ["default/new"]);
  assert.equal(s.resourceVersion, "42");
  assert.equal(s.size, 1);
});

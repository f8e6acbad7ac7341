// Reading Nodes (nodeNet) and the annotation patch skiff-net writes on its own Node.
import { test } from "node:test";
import assert from "node:assert/strict";
import { annotationPatch, nodeNet, ownAnnotations } from "../src/nodes.js";
import type { Node } from "../src/nodes.js";

const node = (annotations: Record<string, string> = {}): Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name: "n1", annotations },
  spec: { podCIDR: "10.244.1.0/24" },
  status: {
    addresses: [
      { type: "Hostname", address: "n1" },
      { type: "InternalIP", address: "192.168.77.1" },
    ],
  },
});

test("a Node's address is its public-ip annotation, else its InternalIP; a bad MAC is ignored", () => {
  assert.deepEqual(nodeNet(node()), {
    name: "n1",
    podCIDR: "10.244.1.0/24",
    publicIP: "192.168.77.1",
  });
  assert.deepEqual(
    nodeNet(
      node({
        "net.skiff.io/public-ip": "192.168.88.1",
        "net.skiff.io/backend-type": "vxlan",
        "net.skiff.io/vtep-mac": "0A:00:00:00:00:01",
      }),
    ),
    {
      name: "n1",
      podCIDR: "10.244.1.0/24",
      publicIP: "192.168.88.1",
      backend: "vxlan",
      vtepMAC: "0a:00:00:00:00:01",
    },
  );
  assert.equal(nodeNet(node({ "net.skiff.io/vtep-mac": "not-a-mac" })).vtepMAC, undefined);
});

test("the annotation patch is empty when the Node already says it all (a restart writes nothing)", () => {
  const want = ownAnnotations("vxlan", "192.168.77.1", "0a:00:00:00:00:01");
  assert.deepEqual(annotationPatch(node(), want), { metadata: { annotations: want } });
  assert.equal(annotationPatch(node(want), want), undefined);
});

test("switching to host-gw drops the VTEP MAC annotation", () => {
  const vx = ownAnnotations("vxlan", "192.168.77.1", "0a:00:00:00:00:01");
  assert.deepEqual(annotationPatch(node(vx), ownAnnotations("host-gw", "192.168.77.1")), {
    metadata: {
      annotations: { "net.skiff.io/backend-type": "host-gw", "net.skiff.io/vtep-mac": null },
    },
  });
});

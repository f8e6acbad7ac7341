// A pod's resolv.conf per dnsPolicy: one table row per case Kubernetes' kubelet distinguishes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { noDNS, parseResolvConf, podDNSConfig } from "../src/pod-dns.js";
import type { PodDNSInput } from "../src/pod-dns.js";

const host = { servers: ["192.0.2.53"], searches: ["corp.example"], options: ["timeout:2"] };
const clusterSearch = ["web.svc.cluster.local", "svc.cluster.local", "cluster.local"];

function dns(spec: PodDNSInput["spec"], over: Partial<PodDNSInput> = {}) {
  return podDNSConfig({
    namespace: "web",
    spec,
    clusterDNS: ["10.96.0.10"],
    clusterDomain: "cluster.local",
    hostDNS: host,
    ...over,
  });
}

test("each dnsPolicy gives the resolv.conf Kubernetes gives it", () => {
  const rows: [string, PodDNSInput["spec"], Partial<PodDNSInput>, PodDNSInput["hostDNS"]][] = [
    [
      "ClusterFirst (the default): cluster DNS, namespace search path then the node's, ndots:5",
      {},
      {},
      {
        servers: ["10.96.0.10"],
        searches: [...clusterSearch, "corp.example"],
        options: ["ndots:5"],
      },
    ],
    ["ClusterFirst with hostNetwork: the node's resolver", { hostNetwork: true }, {}, host],
    [
      "ClusterFirstWithHostNet with hostNetwork: cluster DNS",
      { dnsPolicy: "ClusterFirstWithHostNet", hostNetwork: true },
      {},
      {
        servers: ["10.96.0.10"],
        searches: [...clusterSearch, "corp.example"],
        options: ["ndots:5"],
      },
    ],
    ["Default: the node's resolver", { dnsPolicy: "Default" }, {}, host],
    [
      "Default on a node with no --resolv-conf: nothing",
      { dnsPolicy: "Default" },
      { hostDNS: noDNS },
      noDNS,
    ],
    [
      "None: exactly dnsConfig",
      {
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["192.0.2.1"],
          searches: ["a.example"],
          options: [{ name: "ndots", value: "2" }],
        },
      },
      {},
      { servers: ["192.0.2.1"], searches: ["a.example"], options: ["ndots:2"] },
    ],
    [
      "ClusterFirst plus dnsConfig: appended, duplicates dropped, options replaced by name",
      {
        dnsConfig: {
          nameservers: ["10.96.0.10", "192.0.2.1"],
          searches: ["svc.cluster.local", "b.example"],
          options: [{ name: "ndots", value: "1" }, { name: "edns0" }],
        },
      },
      { hostDNS: noDNS },
      {
        servers: ["10.96.0.10", "192.0.2.1"],
        searches: [...clusterSearch, "b.example"],
        options: ["ndots:1", "edns0"],
      },
    ],
    [
      "another cluster domain",
      {},
      { clusterDomain: "corp.internal.", hostDNS: noDNS },
      {
        servers: ["10.96.0.10"],
        searches: ["web.svc.corp.internal", "svc.corp.internal", "corp.internal"],
        options: ["ndots:5"],
      },
    ],
  ];
  for (const [what, spec, over, want] of rows) {
    const got = dns(spec, over);
    assert.deepEqual(got.dns, want, what);
    assert.deepEqual(got.warnings, [], what);
  }
});

test("no --cluster-dns: ClusterFirst falls back to Default, with a MissingClusterDNS warning", () => {
  const got = dns({}, { clusterDNS: [] });
  assert.deepEqual(got.dns, host);
  assert.equal(got.warnings[0]?.reason, "MissingClusterDNS");
});

test("more than 3 nameservers or 32 searches are cut, with a DNSConfigForming warning", () => {
  const many = dns({ dnsConfig: { nameservers: ["192.0.2.1", "192.0.2.2", "192.0.2.3"] } });
  assert.deepEqual(many.dns.servers, ["10.96.0.10", "192.0.2.1", "192.0.2.2"]);
  assert.equal(many.warnings[0]?.reason, "DNSConfigForming");
  const searches = Array.from({ length: 40 }, (_, i) => `s${i}.example`);
  const long = dns({ dnsPolicy: "None", dnsConfig: { nameservers: ["192.0.2.1"], searches } });
  assert.equal(long.dns.searches.length, 32);
  assert.match(long.warnings[0]?.message ?? "", /^Search Line limits were exceeded/);
});

test("the node's resolv.conf is read without loopback nameservers (a pod cannot reach them)", () => {
  const text =
    "# comment\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nnameserver ::1\nsearch a.example b.example\noptions edns0 trust-ad\n";
  assert.deepEqual(parseResolvConf(text), {
    servers: ["192.0.2.53"],
    searches: ["a.example", "b.example"],
    options: ["edns0", "trust-ad"],
  });
});

// Each pod's resolv.conf on the real Docker engine, per dnsPolicy, from the kubelet's
// --cluster-dns, --cluster-domain and --resolv-conf. (192.0.2.53 is a documentation address:
// nothing here sends it a packet; the pods only print their resolv.conf.)
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { IMAGE, assignPodCIDR, containerStatus, startHarness, type Harness } from "./harness.js";

let h: Harness;

describe("pod resolv.conf on the real engine", { timeout: 300_000 }, () => {
  before(async () => {
    h = await startHarness();
    const resolvConf = join(mkdtempSync(join(tmpdir(), "skiff-resolv-")), "resolv.conf");
    writeFileSync(
      resolvConf,
      "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch corp.example\n",
    );
    await h.startKubelet({
      clusterDNS: ["10.96.0.10"],
      clusterDomain: "cluster.local",
      resolvConf,
    });
    await assignPodCIDR(h);
  });
  after(async () => {
    await h?.cleanup();
  });

  async function resolvConfOf(name: string, spec: Record<string, unknown>): Promise<string> {
    await h.createPod(name, {
      containers: [{ name: "app", image: IMAGE, command: ["sleep", "3600"] }],
      ...spec,
    });
    const pod = await h.waitPod(name, (p) => p.status?.phase === "Running");
    const id = containerStatus(pod, "app").containerID.replace("docker://", "");
    const session = await h.runtime.exec(id, { command: ["cat", "/etc/resolv.conf"] });
    let out = "";
    for await (const chunk of session.stdout) out += String(chunk);
    await session.exitCode;
    return out;
  }

  test("ClusterFirst, Default, None with dnsConfig and ClusterFirstWithHostNet each get their resolv.conf", async () => {
    const [first, dflt, none, hostNet] = await Promise.all([
      resolvConfOf("dns-first", {}),
      resolvConfOf("dns-default", { dnsPolicy: "Default" }),
      resolvConfOf("dns-none", {
        dnsPolicy: "None",
        dnsConfig: {
          nameservers: ["192.0.2.1"],
          searches: ["a.example"],
          options: [{ name: "ndots", value: "2" }],
        },
      }),
      resolvConfOf("dns-hostnet", { dnsPolicy: "ClusterFirstWithHostNet", hostNetwork: true }),
    ]);
    const cluster =
      "nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local cluster.local corp.example\noptions ndots:5\n";
    assert.equal(first, cluster);
    assert.equal(dflt, "nameserver 192.0.2.53\nsearch corp.example\n");
    assert.equal(none, "nameserver 192.0.2.1\nsearch a.example\noptions ndots:2\n");
    assert.equal(hostNet, cluster);
  });
});

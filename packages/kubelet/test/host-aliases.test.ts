// hostAliases on a real kubelet: the entries are in every container's /etc/hosts and resolve,
// as in Kubernetes' "Adding entries to Pod /etc/hosts with HostAliases" example. Real
// apiserver, real Docker engine, the real kubectl.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IMAGE, useRunningKubelet } from "./harness.js";

describe("hostAliases", { timeout: 300_000 }, () => {
  const harness = useRunningKubelet();

  test("a pod's hostAliases are in each container's /etc/hosts and resolve", async () => {
    const h = harness();
    await h.createPod("hostaliases-pod", {
      hostAliases: [
        { ip: "127.0.0.1", hostnames: ["foo.local", "bar.local"] },
        { ip: "192.0.2.3", hostnames: ["foo.remote", "bar.remote"] },
      ],
      containers: [
        { name: "cat-hosts", image: IMAGE, command: ["sleep", "3600"] },
        { name: "other", image: IMAGE, command: ["sleep", "3600"] },
      ],
    });
    await h.waitPod("hostaliases-pod", (p) => p.status?.phase === "Running");
    for (const c of ["cat-hosts", "other"]) {
      const hosts = await h.kubectl([
        "exec",
        "hostaliases-pod",
        "-c",
        c,
        "--",
        "cat",
        "/etc/hosts",
      ]);
      assert.equal(hosts.code, 0, hosts.stderr);
      for (const [ip, name] of [
        ["127.0.0.1", "foo.local"],
        ["127.0.0.1", "bar.local"],
        ["192.0.2.3", "foo.remote"],
        ["192.0.2.3", "bar.remote"],
      ] as const)
        assert.match(hosts.stdout, new RegExp(`^${ip.replaceAll(".", "\\.")}\\s+${name}$`, "m"));
    }
    // The resolver reads them: ping (one packet, to loopback) resolves foo.local.
    const ping = await h.kubectl([
      "exec",
      "hostaliases-pod",
      "--",
      "ping",
      "-c",
      "1",
      "-W",
      "2",
      "foo.local",
    ]);
    assert.match(ping.stdout, /PING foo\.local \(127\.0\.0\.1\)/);
  });
});

// Volume sources the API accepts as Kubernetes 1.31 does but Skiff's kubelet cannot mount
// (NFS, CSI, cloud disks, ephemeral claims, raw block devices) stop the pod's containers
// with a message naming the volume, instead of being replaced by an empty directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RestClient } from "@skiff/client";
import type { Pod } from "../src/objects.js";
import { ConfigError, mountsFor, ObjectSource, prepareVolumes } from "../src/pod-config.js";

function podWith(volume: Record<string, unknown>): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "u1" },
    spec: { containers: [{ name: "c", image: "busybox" }], volumes: [volume as never] },
  } as Pod;
}

test("an NFS, CSI or ephemeral volume is a config error naming it, and leaves nothing behind", async () => {
  const dir = await mkdtemp(join(tmpdir(), "skiff-unmounted-"));
  // No request is made for these volumes: the client points at nothing.
  const source = new ObjectSource(
    new RestClient({ server: "https://127.0.0.1:1", namespace: "default" }),
  );
  try {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: "share", nfs: { server: "nfs.example.com", path: "/x" } }, "nfs"],
      [{ name: "inline", csi: { driver: "d.example.com" } }, "csi"],
      [{ name: "scratch", ephemeral: { volumeClaimTemplate: { spec: {} } } }, "ephemeral"],
    ];
    for (const [volume, kind] of cases) {
      await assert.rejects(
        prepareVolumes({ pod: podWith(volume), dir, source, hostIP: "127.0.0.1" }),
        (err: Error) =>
          err instanceof ConfigError &&
          err.message ===
            `volume "${String(volume.name)}": ${kind} volumes are not supported by Skiff's kubelet`,
      );
    }
    assert.deepEqual(await readdir(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a container with a raw block device is a config error naming the volume", () => {
  const container = {
    name: "c",
    image: "busybox",
    volumeDevices: [{ name: "raw", devicePath: "/dev/xvda" }],
  };
  assert.throws(
    () => mountsFor(container, new Map([["raw", "/tmp/x"]])),
    (err: Error) =>
      err instanceof ConfigError &&
      err.message ===
        `volumeDevices: volume "raw": raw block devices are not supported by Skiff's kubelet`,
  );
});

// The spec hash stored on each container: a container whose hash differs from its spec's is
// restarted.

import type { Container } from "@skiff/api";

/**
 * Hashes only `name` and `image`, as Kubernetes 1.31 does: those are the only container
 * fields a pod update may change, and hashing more would restart every container whenever a
 * new kubelet version defaults or serializes some field differently.
 */
export function hashContainer(container: Pick<Container, "name" | "image">): string {
  const text = JSON.stringify({ image: container.image, name: container.name });
  // FNV-1a, 32 bits: stable, tiny, and what Kubernetes uses for this hash.
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

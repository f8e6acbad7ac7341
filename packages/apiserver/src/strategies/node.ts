// Nodes: the kubelet registers its Node with the status it observed, which is kept.
import type { Strategy } from "./strategy.js";

export const nodeStrategy: Strategy = {
  prepareForCreate() {
    // The status the kubelet sent (capacity, addresses) is the node's: nothing to reset.
  },
};

// CustomResourceDefinitions: a CRD goes only after its objects. The apiserver's CRD controller
// deletes them, then removes the cleanup finalizer (Kubernetes' customresourcecleanup).
import { CRD_CLEANUP_FINALIZER } from "@skiff/api";
import { markTerminating } from "../crd-conditions.js";
import { meta } from "../objects.js";
import type { Strategy } from "./strategy.js";

export const customResourceDefinitionStrategy: Strategy = {
  beginDeletion(crd, finalizers) {
    if (!meta(crd).deletionTimestamp) {
      finalizers.add(CRD_CLEANUP_FINALIZER);
      markTerminating(crd);
    }
    return false;
  },
};

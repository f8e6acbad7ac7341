// The controller-manager's command line: a start that cannot work is one line naming why, exit 1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { kubeconfigWithoutContext, runComponent } from "@skiff/testing";

test("a kubeconfig without a current context is a one-line error, not a stack trace", () => {
  const kubeconfig = kubeconfigWithoutContext();
  const r = runComponent(new URL("../src/main.ts", import.meta.url), [
    `--kubeconfig=${kubeconfig}`,
    "--port=0",
  ]);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    `skiff-controller-manager: no current-context is set in ${kubeconfig}; choose a context\n`,
  );
});

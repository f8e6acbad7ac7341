// imageStatus on the real engine: pods starting together share one image inspect, and only a
// "present" answer is reused. Nothing is created here, so nothing needs cleaning up.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DockerRuntime } from "../src/runtime/docker.js";

const IMAGE = "skiff.local/busybox:1.36";

/** A runtime whose image inspects are counted by reference. */
function countingRuntime(): { rt: DockerRuntime; inspects: Map<string, number> } {
  const rt = new DockerRuntime();
  const inspects = new Map<string, number>();
  const getImage = rt.docker.getImage.bind(rt.docker);
  rt.docker.getImage = (name: string) => {
    inspects.set(name, (inspects.get(name) ?? 0) + 1);
    return getImage(name);
  };
  return { rt, inspects };
}

test("thirty pods asking about one image at once cost one image inspect", async () => {
  const { rt, inspects } = countingRuntime();
  const answers = await Promise.all(Array.from({ length: 30 }, () => rt.imageStatus(IMAGE)));
  assert.match(answers[0] ?? "", /^sha256:/);
  assert.ok(answers.every((a) => a === answers[0]));
  assert.equal(inspects.get(IMAGE), 1);
});

test("an absent image is asked about again, so a pull is seen at once", async () => {
  const { rt, inspects } = countingRuntime();
  const missing = "skiff.local/no-such-image:0.0.1";
  assert.equal(await rt.imageStatus(missing), undefined);
  assert.equal(await rt.imageStatus(missing), undefined);
  assert.equal(inspects.get(missing), 2);
});

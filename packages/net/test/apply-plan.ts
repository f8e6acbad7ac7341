// A small entry point for the kernel tests: in the network namespace it runs in, reads the
// kernel, plans for the Nodes given as JSON on argv, applies the plan and prints
// { actions, failed, replan } — replan being what a second plan right after would do.
import { Kernel, planNetwork } from "../src/index.js";
import type { PlanInput } from "../src/index.js";

const input = JSON.parse(process.argv[2] ?? "{}") as Omit<PlanInput, "observed" | "uplink">;
const kernel = new Kernel();
try {
  const uplink = await kernel.uplink(input.self.publicIP);
  const dev = `skiff.${input.vni}`;
  const plan = planNetwork({ ...input, uplink, observed: await kernel.observe(dev) });
  const failed = await kernel.apply(plan.actions);
  const replan = planNetwork({ ...input, uplink, observed: await kernel.observe(dev) });
  process.stdout.write(JSON.stringify({ actions: plan.actions, failed, replan: replan.actions }));
} finally {
  kernel.close();
}

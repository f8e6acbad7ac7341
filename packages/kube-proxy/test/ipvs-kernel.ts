// Whether this kernel has IPVS, judged without the code under test: /proc/net/ip_vs exists
// once ip_vs is in the kernel, and a module the kernel lists (built in or loadable) is
// loaded on first use. The tests assert the fallback only when this says no.
import { existsSync, readFileSync } from "node:fs";
import { release } from "node:os";

export function kernelHasIpvs(): boolean {
  if (existsSync("/proc/net/ip_vs")) return true;
  for (const list of ["modules.builtin", "modules.dep"]) {
    try {
      if (/(^|\/)ip_vs\.ko/m.test(readFileSync(`/lib/modules/${release()}/${list}`, "utf8")))
        return true;
    } catch {
      // no such list: no modules for this kernel
    }
  }
  return false;
}

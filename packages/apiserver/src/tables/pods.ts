// The pod printer: kubectl's STATUS, READY and RESTARTS reasoning and the wide columns.

import { humanDuration } from "@skiff/api";

import type { J, Printer, TableRow } from "./cells.js";
import { rec, list, text, int, parseTime, col, NAME, AGE, name, age } from "./cells.js";

// Pods --------------------------------------------------------------------------------------

const COMPLETED_SUCCEEDED = {
  type: "Completed",
  status: "True",
  reason: "Succeeded",
  message: "The pod has completed successfully.",
};
const COMPLETED_FAILED = {
  type: "Completed",
  status: "True",
  reason: "Failed",
  message: "The pod failed.",
};

function hasCondition(status: J, type: string): boolean {
  return list(status["conditions"]).some(
    (c) => rec(c)["type"] === type && rec(c)["status"] === "True",
  );
}

function isRestartableInit(container: J | undefined): boolean {
  return container?.["restartPolicy"] === "Always";
}

/** The STATUS, READY and RESTARTS of a pod, reasoned out as kubectl's pod printer does. */
export function podSummary(
  pod: J,
  now: number,
): { ready: string; status: string; restarts: string } {
  const spec = rec(pod["spec"]);
  const status = rec(pod["status"]);
  const metadata = rec(pod["metadata"]);
  const phase = text(status["phase"]);
  let reason = text(status["reason"]) || phase;

  for (const c of list(status["conditions"]).map(rec)) {
    if (c["type"] === "PodScheduled" && c["reason"] === "SchedulingGated")
      reason = "SchedulingGated";
  }

  const initSpecs = new Map<string, J>();
  let total = list(spec["containers"]).length;
  const initContainers = list(spec["initContainers"]).map(rec);
  for (const c of initContainers) {
    initSpecs.set(text(c["name"]), c);
    // Sidecars (restartable init containers) count as containers of the pod.
    if (isRestartableInit(c)) total++;
  }

  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;
  const finishedAt = (cs: J) =>
    parseTime(rec(rec(cs["lastState"])["terminated"])["finishedAt"]) ?? 0;

  // Init containers run in order; the first one not done explains the status.
  let initializing = false;
  const initStatuses = list(status["initContainerStatuses"]).map(rec);
  for (const [i, cs] of initStatuses.entries()) {
    restarts += int(cs["restartCount"]);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const sidecar = isRestartableInit(initSpecs.get(text(cs["name"])));
    if (sidecar) {
      sidecarRestarts += int(cs["restartCount"]);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(cs));
    }
    const state = rec(cs["state"]);
    const terminated = state["terminated"] === undefined ? undefined : rec(state["terminated"]);
    const waiting = state["waiting"] === undefined ? undefined : rec(state["waiting"]);
    if (terminated && int(terminated["exitCode"]) === 0) continue;
    if (sidecar && cs["started"] === true) {
      if (cs["ready"] === true) ready++;
      continue;
    }
    if (terminated) {
      const r = text(terminated["reason"]);
      if (r) reason = `Init:${r}`;
      else if (int(terminated["signal"]) !== 0) reason = `Init:Signal:${int(terminated["signal"])}`;
      else reason = `Init:ExitCode:${int(terminated["exitCode"])}`;
    } else if (waiting && text(waiting["reason"]) && waiting["reason"] !== "PodInitializing") {
      reason = `Init:${text(waiting["reason"])}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(status, "Initialized")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    // Walked backwards so that the first container's state wins, as in kubectl.
    const statuses = list(status["containerStatuses"]).map(rec);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i]!;
      restarts += int(cs["restartCount"]);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const state = rec(cs["state"]);
      const waiting = state["waiting"] === undefined ? undefined : rec(state["waiting"]);
      const terminated = state["terminated"] === undefined ? undefined : rec(state["terminated"]);
      if (waiting && text(waiting["reason"])) {
        reason = text(waiting["reason"]);
      } else if (terminated && text(terminated["reason"])) {
        reason = text(terminated["reason"]);
      } else if (terminated) {
        reason =
          int(terminated["signal"]) !== 0
            ? `Signal:${int(terminated["signal"])}`
            : `ExitCode:${int(terminated["exitCode"])}`;
      } else if (cs["ready"] === true && state["running"] !== undefined) {
        hasRunning = true;
        ready++;
      }
    }
    // One container finished but another still runs: the pod is not "Completed".
    if (reason === "Completed" && hasRunning) {
      reason = hasCondition(status, "Ready") ? "Running" : "NotReady";
    }
  }

  if (metadata["deletionTimestamp"] !== undefined) {
    if (status["reason"] === "NodeLost") reason = "Unknown";
    else if (phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";
  }

  const restartsText =
    restarts !== 0 && lastRestart !== 0
      ? `${restarts} (${humanDuration(now - lastRestart)} ago)`
      : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsText };
}

const pods: Printer = {
  columns: [
    NAME,
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    col("IP", "podIP address allocated to the pod.", { priority: 1 }),
    col("Node", "NodeName is the node this pod is scheduled onto.", {
      priority: 1,
    }),
    col(
      "Nominated Node",
      "nominatedNodeName is set when this pod preempts other pods on the node.",
      {
        priority: 1,
      },
    ),
    col(
      "Readiness Gates",
      "If specified, all readiness gates will be evaluated for pod readiness.",
      {
        priority: 1,
      },
    ),
  ],
  row(pod, now) {
    const spec = rec(pod["spec"]);
    const status = rec(pod["status"]);
    const s = podSummary(pod, now);
    const ip = text(rec(list(status["podIPs"])[0])["ip"]) || text(status["podIP"]) || "<none>";
    const gates = list(spec["readinessGates"]).map((g) => text(rec(g)["conditionType"]));
    let readinessGates = "<none>";
    if (gates.length > 0) {
      const conditions = list(status["conditions"]).map(rec);
      const satisfied = gates.filter(
        (type) => conditions.find((c) => c["type"] === type)?.["status"] === "True",
      ).length;
      readinessGates = `${satisfied}/${gates.length}`;
    }
    const phase = status["phase"];
    const row: Omit<TableRow, "object"> = {
      cells: [
        name(pod),
        s.ready,
        s.status,
        s.restarts,
        age(pod, now),
        ip,
        text(spec["nodeName"]) || "<none>",
        text(status["nominatedNodeName"]) || "<none>",
        readinessGates,
      ],
    };
    // Kubernetes marks finished pods so that clients may hide them.
    if (phase === "Succeeded") row.conditions = [COMPLETED_SUCCEEDED];
    if (phase === "Failed") row.conditions = [COMPLETED_FAILED];
    return row;
  },
};

/** Printers by "group/resource". */
export const podPrinters: Record<string, Printer> = {
  "/pods": pods,
};

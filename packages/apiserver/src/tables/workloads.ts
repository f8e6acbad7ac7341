// Printers for workloads: apps, batch, ReplicationControllers and HorizontalPodAutoscalers.

import { humanDuration } from "@skiff/api";

import type { J, Printer } from "./cells.js";
import {
  rec,
  list,
  text,
  int,
  parseTime,
  since,
  formatLabels,
  selectorString,
  formatLabelSelector,
  containerCells,
  col,
  NAME,
  AGE,
  CONTAINERS,
  IMAGES,
  wideSelector,
  name,
  age,
} from "./cells.js";

// HorizontalPodAutoscalers ------------------------------------------------------------------

/** "cpu: 73%/50%" per metric, as kubectl prints TARGETS; the first four, then "+ N more...". */
export function hpaTargets(hpa: J): string {
  const specs = list(rec(hpa["spec"])["metrics"]).map(rec);
  const statuses = list(rec(hpa["status"])["currentMetrics"]).map(rec);
  if (specs.length === 0) return "<none>";
  const out = specs.map((spec, i) => {
    const type = text(spec["type"]);
    const field = type === "ContainerResource" ? "containerResource" : "resource";
    if (type !== "Resource" && type !== "ContainerResource") return `<unsupported: ${type}>`;
    const src = rec(spec[field]);
    const target = rec(src["target"]);
    const cur = rec(rec(statuses[i]?.[field])["current"]);
    const resource = text(src["name"]);
    if (target["averageValue"] !== undefined) {
      const current = cur["averageValue"] !== undefined ? String(cur["averageValue"]) : "<unknown>";
      return `${resource}: ${current}/${String(target["averageValue"])}`;
    }
    const current =
      typeof cur["averageUtilization"] === "number" ? `${cur["averageUtilization"]}%` : "<unknown>";
    const want =
      typeof target["averageUtilization"] === "number"
        ? `${target["averageUtilization"]}%`
        : "<auto>";
    return `${resource}: ${current}/${want}`;
  });
  if (out.length > 4) return `${out.slice(0, 4).join(", ")} + ${out.length - 4} more...`;
  return out.join(", ");
}

const horizontalpodautoscalers: Printer = {
  columns: [
    NAME,
    col("Reference", "scaleTargetRef points to the target resource to scale"),
    col(
      "Targets",
      "metrics contains the specifications for which to use to calculate the desired replica count",
    ),
    col("MinPods", "minReplicas is the lower limit for the number of replicas"),
    col("MaxPods", "maxReplicas is the upper limit for the number of replicas"),
    col(
      "Replicas",
      "currentReplicas is current number of replicas of pods managed by this autoscaler",
    ),
    AGE,
  ],
  row: (hpa, now) => {
    const spec = rec(hpa["spec"]);
    const ref = rec(spec["scaleTargetRef"]);
    const min = spec["minReplicas"];
    return {
      cells: [
        name(hpa),
        `${text(ref["kind"])}/${text(ref["name"])}`,
        hpaTargets(hpa),
        typeof min === "number" ? String(min) : "<unset>",
        String(int(spec["maxReplicas"])),
        String(int(rec(hpa["status"])["currentReplicas"])),
        age(hpa, now),
      ],
    };
  },
};

// Workloads ---------------------------------------------------------------------------------

function templateSpec(o: J): J {
  return rec(rec(rec(o["spec"])["template"])["spec"]);
}

/** spec.replicas as stored; an undefaulted object means the default of 1. */
function desiredReplicas(o: J): number {
  const r = rec(o["spec"])["replicas"];
  return typeof r === "number" ? int(r) : 1;
}

const deployments: Printer = {
  columns: [
    NAME,
    col("Ready", "Number of the pod with ready state"),
    col(
      "Up-to-date",
      "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
    ),
    col(
      "Available",
      "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("Label selector for pods."),
  ],
  row(d, now) {
    const status = rec(d["status"]);
    const [names, images] = containerCells(templateSpec(d));
    return {
      cells: [
        name(d),
        `${int(status["readyReplicas"])}/${desiredReplicas(d)}`,
        int(status["updatedReplicas"]),
        int(status["availableReplicas"]),
        age(d, now),
        names,
        images,
        selectorString(rec(d["spec"])["selector"]),
      ],
    };
  },
};

const replicasets: Printer = {
  columns: [
    NAME,
    col("Desired", "Replicas is the number of desired pods.", {
      type: "integer",
    }),
    col("Current", "Replicas is the most recently observed number of replicas.", {
      type: "integer",
    }),
    col("Ready", "The number of pods targeted by this ReplicaSet with a Ready Condition.", {
      type: "integer",
    }),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("Selector is a label query over pods that should match the replica count."),
  ],
  row(rs, now) {
    const status = rec(rs["status"]);
    const [names, images] = containerCells(templateSpec(rs));
    return {
      cells: [
        name(rs),
        desiredReplicas(rs),
        int(status["replicas"]),
        int(status["readyReplicas"]),
        age(rs, now),
        names,
        images,
        formatLabelSelector(rec(rs["spec"])["selector"]),
      ],
    };
  },
};

// Kubernetes prints a ReplicationController as a ReplicaSet, its selector being a label map.
const replicationcontrollers: Printer = {
  columns: replicasets.columns,
  row(rc, now) {
    const row = replicasets.row(rc, now);
    const selector = rec(rec(rc["spec"])["selector"]);
    row.cells[row.cells.length - 1] = formatLabelSelector({ matchLabels: selector });
    return row;
  },
};

const daemonsets: Printer = {
  columns: [
    NAME,
    col("Desired", "The total number of nodes that should be running the daemon pod.", {
      type: "integer",
    }),
    col(
      "Current",
      "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.",
      { type: "integer" },
    ),
    col(
      "Ready",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.",
      { type: "integer" },
    ),
    col("Up-to-date", "The total number of nodes that are running updated daemon pod", {
      type: "integer",
    }),
    col(
      "Available",
      "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
      { type: "integer" },
    ),
    col(
      "Node Selector",
      "NodeSelector is a selector which must be true for the pod to fit on a node.",
    ),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that are managed by the daemon set."),
  ],
  row(ds, now) {
    const status = rec(ds["status"]);
    const [names, images] = containerCells(templateSpec(ds));
    return {
      cells: [
        name(ds),
        int(status["desiredNumberScheduled"]),
        int(status["currentNumberScheduled"]),
        int(status["numberReady"]),
        int(status["updatedNumberScheduled"]),
        int(status["numberAvailable"]),
        formatLabels(templateSpec(ds)["nodeSelector"]),
        age(ds, now),
        names,
        images,
        formatLabelSelector(rec(ds["spec"])["selector"]),
      ],
    };
  },
};

function jobStatus(job: J): string {
  const conditions = list(rec(job["status"])["conditions"]).map(rec);
  // The first condition of a type decides, as in kubectl's hasJobCondition.
  const has = (type: string) => conditions.find((c) => c["type"] === type)?.["status"] === "True";
  if (has("Complete")) return "Complete";
  if (has("Failed")) return "Failed";
  if (rec(job["metadata"])["deletionTimestamp"] !== undefined) return "Terminating";
  if (has("Suspended")) return "Suspended";
  if (has("FailureTarget")) return "FailureTarget";
  return "Running";
}

const jobs: Printer = {
  columns: [
    NAME,
    col("Status", "Status of the job."),
    col("Completions", "The number of pods which reached phase Succeeded."),
    col("Duration", "Time required to complete the job."),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that should match the pod count."),
  ],
  row(job, now) {
    const spec = rec(job["spec"]);
    const status = rec(job["status"]);
    const succeeded = int(status["succeeded"]);
    let completions: string;
    if (typeof spec["completions"] === "number") {
      completions = `${succeeded}/${int(spec["completions"])}`;
    } else {
      const parallelism = int(spec["parallelism"]);
      completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
    }
    const start = parseTime(status["startTime"]);
    const end = parseTime(status["completionTime"]);
    const duration = start === undefined ? "" : humanDuration((end ?? now) - start);
    const [names, images] = containerCells(templateSpec(job));
    return {
      cells: [
        name(job),
        jobStatus(job),
        completions,
        duration,
        age(job, now),
        names,
        images,
        formatLabelSelector(spec["selector"]),
      ],
    };
  },
};

const cronjobs: Printer = {
  columns: [
    NAME,
    col("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    col(
      "Timezone",
      "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones.",
    ),
    col("Suspend", "This flag tells the controller to suspend subsequent executions."),
    col("Active", "A list of pointers to currently running jobs.", { type: "integer" }),
    col("Last Schedule", "Information when was the last time the job was successfully scheduled."),
    AGE,
    CONTAINERS,
    IMAGES,
    wideSelector("A label query over pods that should match the pod count."),
  ],
  row(cj, now) {
    const spec = rec(cj["spec"]);
    const status = rec(cj["status"]);
    const jobSpec = rec(rec(spec["jobTemplate"])["spec"]);
    const [names, images] = containerCells(rec(rec(jobSpec["template"])["spec"]));
    const last = status["lastScheduleTime"];
    return {
      cells: [
        name(cj),
        text(spec["schedule"]),
        text(spec["timeZone"]) || "<none>",
        spec["suspend"] === true ? "True" : "False",
        list(status["active"]).length,
        last === undefined ? "<none>" : since(last, now),
        age(cj, now),
        names,
        images,
        formatLabelSelector(jobSpec["selector"]),
      ],
    };
  },
};

const statefulsets: Printer = {
  columns: [NAME, col("Ready", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
  row(sts, now) {
    const status = rec(sts["status"]);
    const [names, images] = containerCells(templateSpec(sts));
    return {
      cells: [
        name(sts),
        `${int(status["readyReplicas"])}/${desiredReplicas(sts)}`,
        age(sts, now),
        names,
        images,
      ],
    };
  },
};

const controllerrevisions: Printer = {
  columns: [
    NAME,
    col("Controller", "Controller of the object"),
    col("Revision", "Revision indicates the revision of the state represented by Data.", {
      type: "integer",
    }),
    AGE,
  ],
  row(cr, now) {
    // kubectl names the controller as "<kind>.<group>/<name>", lower case.
    const ref = list(rec(cr["metadata"])["ownerReferences"])
      .map(rec)
      .find((r) => r["controller"] === true);
    let controller = "<none>";
    if (ref) {
      const apiVersion = text(ref["apiVersion"]);
      const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
      const kind = text(ref["kind"]).toLowerCase();
      controller = `${group ? `${kind}.${group}` : kind}/${text(ref["name"])}`;
    }
    return { cells: [name(cr), controller, int(cr["revision"]), age(cr, now)] };
  },
};

/** Printers by "group/resource". */
export const workloadPrinters: Record<string, Printer> = {
  "apps/deployments": deployments,
  "apps/replicasets": replicasets,
  "/replicationcontrollers": replicationcontrollers,
  "apps/daemonsets": daemonsets,
  "apps/statefulsets": statefulsets,
  "apps/controllerrevisions": controllerrevisions,
  "batch/jobs": jobs,
  "batch/cronjobs": cronjobs,
  "autoscaling/horizontalpodautoscalers": horizontalpodautoscalers,
};

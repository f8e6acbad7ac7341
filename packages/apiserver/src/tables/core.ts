// Printers for the core ("") group's kinds other than pods, and EndpointSlices.

import type { J, Printer } from "./cells.js";
import {
  rec,
  list,
  text,
  int,
  size,
  parseTime,
  since,
  formatLabels,
  hostPort,
  listWithMore,
  col,
  NAME,
  AGE,
  wideSelector,
  name,
  age,
} from "./cells.js";

// Nodes -------------------------------------------------------------------------------------

function nodeAddress(node: J, type: string): string {
  const found = list(rec(node["status"])["addresses"])
    .map(rec)
    .find((a) => a["type"] === type);
  return found ? text(found["address"]) : "<none>";
}

function nodeRoles(labels: J): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels)) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && text(v)) {
      roles.add(text(v));
    }
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

const nodes: Printer = {
  columns: [
    NAME,
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of addresses reachable to the node.", {
      priority: 1,
    }),
    col("External-IP", "List of addresses reachable to the node.", {
      priority: 1,
    }),
    col("OS-Image", "OS Image reported by the node.", { priority: 1 }),
    col("Kernel-Version", "Kernel Version reported by the node.", {
      priority: 1,
    }),
    col("Container-Runtime", "ContainerRuntime Version reported by the node.", {
      priority: 1,
    }),
  ],
  row(node, now) {
    const status = rec(node["status"]);
    const info = rec(status["nodeInfo"]);
    // Only the Ready condition shows; the last one listed wins, as in a Go map.
    const readyCondition = list(status["conditions"])
      .map(rec)
      .filter((c) => c["type"] === "Ready")
      .pop();
    const states = [
      readyCondition === undefined
        ? "Unknown"
        : readyCondition["status"] === "True"
          ? "Ready"
          : "NotReady",
    ];
    if (rec(node["spec"])["unschedulable"] === true) states.push("SchedulingDisabled");
    return {
      cells: [
        name(node),
        states.join(","),
        nodeRoles(rec(rec(node["metadata"])["labels"])),
        age(node, now),
        text(info["kubeletVersion"]),
        nodeAddress(node, "InternalIP"),
        nodeAddress(node, "ExternalIP"),
        text(info["osImage"]) || "<unknown>",
        text(info["kernelVersion"]) || "<unknown>",
        text(info["containerRuntimeVersion"]) || "<unknown>",
      ],
    };
  },
};

// Services ----------------------------------------------------------------------------------

function serviceExternalIP(spec: J, status: J, type: string): string {
  const externalIPs = list(spec["externalIPs"]).map(text);
  switch (type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = new Set<string>();
      for (const i of list(rec(status["loadBalancer"])["ingress"]).map(rec)) {
        const address = text(i["ip"]) || text(i["hostname"]);
        if (address) ingress.add(address);
      }
      const all = [...[...ingress].sort(), ...externalIPs];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return text(spec["externalName"]);
  }
  return "<unknown>";
}

const services: Printer = {
  columns: [
    NAME,
    col("Type", "type determines how the Service is exposed."),
    col("Cluster-IP", "clusterIP is the IP address of the service."),
    col(
      "External-IP",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    col("Port(s)", "The list of ports that are exposed by this service."),
    AGE,
    wideSelector(
      "Route service traffic to pods with label keys and values matching this selector.",
    ),
  ],
  row(svc, now) {
    const spec = rec(svc["spec"]);
    // Stored services are defaulted; an undefaulted one is a ClusterIP service.
    const type = text(spec["type"]) || "ClusterIP";
    const clusterIP = text(list(spec["clusterIPs"])[0]) || text(spec["clusterIP"]) || "<none>";
    const ports = list(spec["ports"])
      .map(rec)
      .map((p) => {
        const protocol = text(p["protocol"]) || "TCP";
        const nodePort = int(p["nodePort"]);
        return nodePort > 0
          ? `${int(p["port"])}:${nodePort}/${protocol}`
          : `${int(p["port"])}/${protocol}`;
      });
    return {
      cells: [
        name(svc),
        type,
        clusterIP,
        serviceExternalIP(spec, rec(svc["status"]), type),
        ports.length ? ports.join(",") : "<none>",
        age(svc, now),
        formatLabels(spec["selector"]),
      ],
    };
  },
};

// Endpoints and EndpointSlices ----------------------------------------------------------------

function formatEndpoints(ep: J): string {
  const subsets = list(ep["subsets"]).map(rec);
  if (subsets.length === 0) return "<none>";
  const items: string[] = [];
  let count = 0;
  for (const ss of subsets) {
    const addresses = list(ss["addresses"]).map((a) => text(rec(a)["ip"]));
    const ports = list(ss["ports"]).map((p) => int(rec(p)["port"]));
    // Headless services may have addresses without ports.
    if (ports.length === 0) {
      count += addresses.length;
      items.push(...addresses);
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      items.push(...addresses.map((ip) => hostPort(ip, port)));
    }
  }
  return listWithMore(items, count, 3, "");
}

const endpoints: Printer = {
  columns: [NAME, col("Endpoints", "The set of all endpoints is the union of all subsets."), AGE],
  row: (ep, now) => ({ cells: [name(ep), formatEndpoints(ep), age(ep, now)] }),
};

const endpointslices: Printer = {
  columns: [
    NAME,
    col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
    col(
      "Ports",
      "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
    AGE,
  ],
  row(slice, now) {
    const ports = list(slice["ports"]).map(rec);
    const portNames = ports.map((p) =>
      typeof p["port"] === "number" ? String(int(p["port"])) : text(p["name"]) || "*",
    );
    const addresses = list(slice["endpoints"]).flatMap((e) => list(rec(e)["addresses"]).map(text));
    return {
      cells: [
        name(slice),
        text(slice["addressType"]),
        listWithMore(portNames, portNames.length, 3, "<unset>"),
        listWithMore(addresses, addresses.length, 3, "<unset>"),
        age(slice, now),
      ],
    };
  },
};

// Simple core kinds -------------------------------------------------------------------------

const namespaces: Printer = {
  columns: [NAME, col("Status", "The status of the namespace"), AGE],
  row: (ns, now) => ({
    cells: [name(ns), text(rec(ns["status"])["phase"]), age(ns, now)],
  }),
};

const configmaps: Printer = {
  columns: [NAME, col("Data", "Data contains the configuration data."), AGE],
  row: (cm, now) => ({
    cells: [name(cm), size(cm["data"]) + size(cm["binaryData"]), age(cm, now)],
  }),
};

const secrets: Printer = {
  columns: [
    NAME,
    col("Type", "Used to facilitate programmatic handling of secret data."),
    col("Data", "Data contains the secret data."),
    AGE,
  ],
  row: (s, now) => ({
    cells: [name(s), text(s["type"]), size(s["data"]), age(s, now)],
  }),
};

const serviceaccounts: Printer = {
  columns: [
    NAME,
    col(
      "Secrets",
      "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.",
    ),
    AGE,
  ],
  row: (sa, now) => ({
    cells: [name(sa), list(sa["secrets"]).length, age(sa, now)],
  }),
};

// Events ------------------------------------------------------------------------------------

const events: Printer = {
  columns: [
    col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
    col(
      "Reason",
      "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.",
    ),
    col("Object", "The object that this event is about."),
    col("Subobject", "The field of the object the event is about, such as spec.containers{name}.", {
      priority: 1,
    }),
    col("Source", "The component reporting this event.", { priority: 1 }),
    col("Message", "A human-readable description of the status of this operation."),
    col("First Seen", "The time at which the event was first recorded.", {
      priority: 1,
    }),
    col("Count", "The number of times this event has occurred.", {
      priority: 1,
    }),
    col("Name", "Name must be unique within a namespace.", {
      priority: 1,
      format: "name",
    }),
  ],
  row(ev, now) {
    const first =
      parseTime(ev["firstTimestamp"]) !== undefined
        ? since(ev["firstTimestamp"], now)
        : since(ev["eventTime"], now);
    let last =
      parseTime(ev["lastTimestamp"]) !== undefined ? since(ev["lastTimestamp"], now) : first;
    let count = int(ev["count"]);
    const series = ev["series"];
    if (series !== undefined && series !== null) {
      last = since(rec(series)["lastObservedTime"], now);
      count = int(rec(series)["count"]);
    } else if (count === 0) {
      count = 1; // events.k8s.io-style singletons carry no count
    }
    const involved = rec(ev["involvedObject"]);
    const kind = text(involved["kind"]).toLowerCase();
    const target = text(involved["name"]) ? `${kind}/${text(involved["name"])}` : kind;
    const source = rec(ev["source"]);
    const component = text(source["component"]) || text(ev["reportingComponent"]);
    const instance = text(source["host"]) || text(ev["reportingInstance"]);
    return {
      cells: [
        last,
        text(ev["type"]),
        text(ev["reason"]),
        target,
        text(involved["fieldPath"]),
        instance ? `${component}, ${instance}` : component,
        text(ev["message"]).trim(),
        first,
        count,
        name(ev),
      ],
    };
  },
};

const ACCESS_MODE_SHORT: Record<string, string> = {
  ReadWriteOnce: "RWO",
  ReadOnlyMany: "ROX",
  ReadWriteMany: "RWX",
  ReadWriteOncePod: "RWOP",
};

/** kubectl's GetAccessModesAsString: the short forms, each once, in a fixed order. */
function accessModes(modes: unknown): string {
  const have = new Set(list(modes).map(text));
  return ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]
    .filter((m) => have.has(m))
    .map((m) => ACCESS_MODE_SHORT[m])
    .join(",");
}

const persistentvolumeclaims: Printer = {
  columns: [
    NAME,
    col("Status", "Status of the persistent volume claim."),
    col(
      "Volume",
      "VolumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    col("Capacity", "Capacity represents the actual resources of the underlying volume."),
    col("Access Modes", "AccessModes contains the desired access modes the volume should have."),
    col("StorageClass", "StorageClassName is the name of the StorageClass required by the claim."),
    col(
      "VolumeAttributesClass",
      "VolumeAttributesClassName may be used to set the VolumeAttributesClass used by this claim.",
    ),
    AGE,
    col("VolumeMode", "VolumeMode defines what type of volume is required by the claim.", {
      priority: 1,
    }),
  ],
  row(pvc, now) {
    const spec = rec(pvc["spec"]);
    const status = rec(pvc["status"]);
    const deleting = rec(pvc["metadata"])["deletionTimestamp"] !== undefined;
    const bound = text(spec["volumeName"]) !== "";
    const storage = rec(status["capacity"])["storage"];
    return {
      cells: [
        name(pvc),
        deleting ? "Terminating" : text(status["phase"]),
        text(spec["volumeName"]),
        bound && storage !== undefined ? String(storage) : "",
        bound ? accessModes(status["accessModes"]) : "",
        text(spec["storageClassName"]),
        text(spec["volumeAttributesClassName"]) || "<unset>",
        age(pvc, now),
        text(spec["volumeMode"]) || "<unset>",
      ],
    };
  },
};

const persistentvolumes: Printer = {
  columns: [
    NAME,
    col(
      "Capacity",
      "capacity is the description of the persistent volume's resources and capacity.",
    ),
    col("Access Modes", "accessModes contains all ways the volume can be mounted."),
    col(
      "Reclaim Policy",
      "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
    ),
    col(
      "Status",
      "phase indicates if a volume is available, bound to a claim, or released by a claim.",
    ),
    col(
      "Claim",
      "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim.",
    ),
    col(
      "StorageClass",
      "storageClassName is the name of StorageClass to which this persistent volume belongs.",
    ),
    col(
      "VolumeAttributesClass",
      "Name of VolumeAttributesClass to which this persistent volume belongs.",
    ),
    col("Reason", "reason is a brief CamelCase string that describes any failure."),
    AGE,
    col(
      "VolumeMode",
      "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.",
      { priority: 1 },
    ),
  ],
  row(pv, now) {
    const spec = rec(pv["spec"]);
    const status = rec(pv["status"]);
    const ref = rec(spec["claimRef"]);
    const claim = text(ref["name"]) ? `${text(ref["namespace"])}/${text(ref["name"])}` : "";
    const storage = rec(spec["capacity"])["storage"];
    const deleting = rec(pv["metadata"])["deletionTimestamp"] !== undefined;
    return {
      cells: [
        name(pv),
        storage === undefined ? "" : String(storage),
        accessModes(spec["accessModes"]),
        text(spec["persistentVolumeReclaimPolicy"]),
        deleting ? "Terminating" : text(status["phase"]),
        claim,
        text(spec["storageClassName"]),
        text(spec["volumeAttributesClassName"]) || "<unset>",
        text(status["reason"]),
        age(pv, now),
        text(spec["volumeMode"]) || "<unset>",
      ],
    };
  },
};

const resourcequotas: Printer = {
  columns: [
    NAME,
    AGE,
    col(
      "Request",
      "Request represents a minimum amount of cpu/memory that a container may consume.",
    ),
    col(
      "Limit",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  row(rq, now) {
    const status = rec(rq["status"]);
    const hard = rec(status["hard"]);
    const used = rec(status["used"]);
    const requests: string[] = [];
    const limits: string[] = [];
    for (const r of Object.keys(hard).sort()) {
      const cell = `${r}: ${used[r] === undefined ? "0" : String(used[r])}/${String(hard[r])}`;
      (r.startsWith("limits.") ? limits : requests).push(cell);
    }
    return { cells: [name(rq), age(rq, now), requests.join(", "), limits.join(", ")] };
  },
};

/** Printers by "group/resource". */
export const corePrinters: Record<string, Printer> = {
  "/nodes": nodes,
  "/services": services,
  "/endpoints": endpoints,
  "discovery.k8s.io/endpointslices": endpointslices,
  "/namespaces": namespaces,
  "/configmaps": configmaps,
  "/secrets": secrets,
  "/serviceaccounts": serviceaccounts,
  "/events": events,
  "/persistentvolumeclaims": persistentvolumeclaims,
  "/persistentvolumes": persistentvolumes,
  "/resourcequotas": resourcequotas,
};

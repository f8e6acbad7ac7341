import { test } from "node:test";
import assert from "node:assert/strict";
import { applyDefaults } from "../src/defaults.js";
import { findResource } from "../src/resources.js";
import { validate, type FieldError } from "../src/validation.js";
import { unknownFields } from "../src/prune.js";

type Obj = Record<string, unknown>;
const stsInfo = findResource("apps", "v1", "statefulsets")!;
const pvcInfo = findResource("", "v1", "persistentvolumeclaims")!;
const crInfo = findResource("apps", "v1", "controllerrevisions")!;

function statefulSet(spec: Obj = {}): Obj {
  return {
    metadata: { name: "db", namespace: "default" },
    spec: {
      serviceName: "db",
      selector: { matchLabels: { app: "db" } },
      template: {
        metadata: { labels: { app: "db" } },
        spec: {
          containers: [
            {
              name: "db",
              image: "postgres:16",
              // The claim template's volume: the controller adds it to every pod.
              volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql" }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
        },
      ],
      ...spec,
    },
  };
}

function errorsOf(info: typeof stsInfo, obj: Obj, old?: Obj): FieldError[] {
  applyDefaults(info, obj);
  if (old) applyDefaults(info, old);
  return validate(info, obj, old);
}

const fields = (errs: FieldError[]) => errs.map((e) => `${e.field}: ${e.message}`);

test("a StatefulSet gets Kubernetes' defaults and a valid one has no errors", () => {
  const sts = statefulSet();
  assert.deepEqual(errorsOf(stsInfo, sts), []);
  const spec = sts.spec as Obj;
  assert.equal(spec.replicas, 1);
  assert.equal(spec.podManagementPolicy, "OrderedReady");
  assert.deepEqual(spec.updateStrategy, { type: "RollingUpdate", rollingUpdate: { partition: 0 } });
  assert.equal(spec.revisionHistoryLimit, 10);
  assert.deepEqual(spec.persistentVolumeClaimRetentionPolicy, {
    whenDeleted: "Retain",
    whenScaled: "Retain",
  });
  const claim = (spec.volumeClaimTemplates as Obj[])[0]!;
  assert.equal((claim.spec as Obj).volumeMode, "Filesystem");
  assert.deepEqual(sts.status, { replicas: 0 });
});

test("a StatefulSet's mounts may name its claim templates, and nothing else undeclared", () => {
  const sts = statefulSet();
  const template = (sts.spec as Obj).template as { spec: { containers: Obj[] } };
  template.spec.containers[0]!.volumeMounts = [
    { name: "data", mountPath: "/data" },
    { name: "cache", mountPath: "/cache" },
  ];
  assert.deepEqual(fields(errorsOf(stsInfo, sts)), [
    'spec.template.spec.containers[0].volumeMounts[1].name: Not found: "cache"',
  ]);
});

test("StatefulSet errors name their fields as Kubernetes does", () => {
  const errs = errorsOf(
    stsInfo,
    statefulSet({
      podManagementPolicy: "Sometimes",
      updateStrategy: { type: "OnDelete", rollingUpdate: { partition: 1 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Keep" },
      volumeClaimTemplates: [
        { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteSometimes"] } },
      ],
    }),
  );
  assert.deepEqual(fields(errs), [
    `spec.podManagementPolicy: Invalid value: "Sometimes": must be 'OrderedReady' or 'Parallel'`,
    `spec.updateStrategy.rollingUpdate: Invalid value: {"partition":1}: only allowed for updateStrategy 'RollingUpdate'`,
    `spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"`,
    `spec.volumeClaimTemplates[0].spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"`,
    "spec.volumeClaimTemplates[0].spec.resources[storage]: Required value",
  ]);
  const negative = errorsOf(
    stsInfo,
    statefulSet({
      updateStrategy: {
        type: "RollingUpdate",
        rollingUpdate: { partition: -1, maxUnavailable: 0 },
      },
    }),
  );
  assert.deepEqual(fields(negative), [
    "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0",
    "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0",
  ]);
});

test("only replicas, template, updateStrategy and a few more may change in a StatefulSet", () => {
  const old = statefulSet();
  assert.deepEqual(errorsOf(stsInfo, statefulSet({ replicas: 5 }), old), []);
  const errs = errorsOf(stsInfo, statefulSet({ serviceName: "other" }), statefulSet());
  assert.deepEqual(fields(errs), [
    "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
  ]);
});

test("a claim needs access modes and a positive storage request; its spec is fixed but for binding and growth", () => {
  const claim = (spec: Obj): Obj => ({ metadata: { name: "c", namespace: "default" }, spec });
  assert.deepEqual(
    fields(
      errorsOf(
        pvcInfo,
        claim({ resources: { requests: { storage: "0" } }, storageClassName: "Bad_Name" }),
      ),
    ),
    [
      "spec.accessModes: Required value: at least 1 access mode is required",
      `spec.resources[storage]: Invalid value: "0": must be greater than zero`,
      `spec.storageClassName: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
    ],
  );
  const good = { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } };
  const pvc = claim(structuredClone(good));
  assert.deepEqual(errorsOf(pvcInfo, pvc), []);
  assert.deepEqual((pvc.status as Obj).phase, "Pending");
  // The binder sets volumeName once.
  assert.deepEqual(errorsOf(pvcInfo, claim({ ...good, volumeName: "pv1" }), claim(good)), []);
  assert.deepEqual(
    fields(errorsOf(pvcInfo, claim({ ...good, accessModes: ["ReadWriteMany"] }), claim(good))),
    [
      "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
    ],
  );
  const bound = { ...good, volumeName: "pv1" };
  assert.deepEqual(
    fields(
      errorsOf(
        pvcInfo,
        claim({ ...bound, resources: { requests: { storage: "512Mi" } } }),
        claim(bound),
      ),
    ),
    ["spec.resources.requests.storage: Forbidden: field can not be less than previous value"],
  );
});

test("a ControllerRevision needs data, which never changes", () => {
  const cr = (data?: Obj): Obj => ({
    metadata: { name: "r", namespace: "default" },
    revision: 1,
    ...(data ? { data } : {}),
  });
  assert.deepEqual(fields(errorsOf(crInfo, cr())), ["data: Required value: data is mandatory"]);
  assert.deepEqual(fields(errorsOf(crInfo, cr({ a: 2 }), cr({ a: 1 }))), [
    `data: Invalid value: {"a":2}: field is immutable`,
  ]);
});

const cjInfo = findResource("batch", "v1", "cronjobs")!;
function cronJob(spec: Obj = {}): Obj {
  return {
    metadata: { name: "backup", namespace: "default" },
    spec: {
      schedule: "@hourly",
      jobTemplate: {
        spec: {
          template: {
            spec: { restartPolicy: "OnFailure", containers: [{ name: "b", image: "busybox" }] },
          },
        },
      },
      ...spec,
    },
  };
}

test("a CronJob gets Kubernetes' defaults; schedules, time zones and policies are checked", () => {
  const cj = cronJob();
  assert.deepEqual(errorsOf(cjInfo, cj), []);
  const spec = cj.spec as Obj;
  assert.deepEqual(
    [
      spec.concurrencyPolicy,
      spec.suspend,
      spec.successfulJobsHistoryLimit,
      spec.failedJobsHistoryLimit,
    ],
    ["Allow", false, 3, 1],
  );
  assert.deepEqual(
    errorsOf(cjInfo, cronJob({ schedule: "0 9 * * 1-5", timeZone: "Europe/Paris" })),
    [],
  );
  assert.deepEqual(
    fields(
      errorsOf(
        cjInfo,
        cronJob({
          schedule: "* * * * * *",
          timeZone: "Mars/Olympus",
          concurrencyPolicy: "Sometimes",
          startingDeadlineSeconds: -1,
        }),
      ),
    ),
    [
      `spec.schedule: Invalid value: "* * * * * *": expected exactly 5 fields, found 6: [* * * * * *]`,
      `spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus`,
      `spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"`,
      "spec.startingDeadlineSeconds: Invalid value: -1: must be greater than or equal to 0",
    ],
  );
  assert.deepEqual(
    fields(errorsOf(cjInfo, cronJob({ schedule: "CRON_TZ=UTC 0 * * * *" }))).slice(-1),
    [
      `spec.schedule: Invalid value: "CRON_TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead`,
    ],
  );
  assert.deepEqual(fields(errorsOf(cjInfo, cronJob({ schedule: "@fortnightly" }))), [
    `spec.schedule: Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly`,
  ]);
  const always = cronJob();
  (
    (((always.spec as Obj).jobTemplate as Obj).spec as Obj).template as { spec: Obj }
  ).spec.restartPolicy = "Always";
  assert.deepEqual(fields(errorsOf(cjInfo, always)), [
    `spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"`,
  ]);
});

test("volumes need a capacity, access modes and exactly one source; classes keep their provisioner", () => {
  const pvInfo = findResource("", "v1", "persistentvolumes")!;
  const scInfo = findResource("storage.k8s.io", "v1", "storageclasses")!;
  const pv = (spec: Obj): Obj => ({ metadata: { name: "pv1" }, spec });
  assert.deepEqual(fields(errorsOf(pvInfo, pv({ persistentVolumeReclaimPolicy: "Keep" }))), [
    "spec.capacity: Required value",
    "spec.accessModes: Required value: at least 1 access mode is required",
    `spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": supported values: "Delete", "Recycle", "Retain"`,
    "spec: Required value: must specify a volume type",
  ]);
  const good = {
    capacity: { storage: "1Gi" },
    accessModes: ["ReadWriteOnce"],
    local: { path: "/mnt/d" },
  };
  assert.deepEqual(fields(errorsOf(pvInfo, pv(good))), [
    "spec.nodeAffinity: Required value: Local volume requires node affinity",
  ]);
  const hostPath = { ...good, local: undefined, hostPath: { path: "/srv/a" } };
  const stored = pv(structuredClone(hostPath));
  assert.deepEqual(errorsOf(pvInfo, stored), []);
  assert.equal((stored.spec as Obj).persistentVolumeReclaimPolicy, "Retain");
  assert.deepEqual(
    fields(errorsOf(pvInfo, pv({ ...hostPath, hostPath: { path: "/srv/b" } }), pv(hostPath))),
    [
      "spec.persistentvolumesource: Forbidden: spec.persistentvolumesource is immutable after creation",
    ],
  );
  const sc = (o: Obj): Obj => ({
    metadata: { name: "fast" },
    provisioner: "example.com/disk",
    ...o,
  });
  const defaulted = sc({});
  assert.deepEqual(errorsOf(scInfo, defaulted), []);
  assert.deepEqual([defaulted.reclaimPolicy, defaulted.volumeBindingMode], ["Delete", "Immediate"]);
  assert.deepEqual(fields(errorsOf(scInfo, sc({ volumeBindingMode: "Later" }))), [
    `volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"`,
  ]);
  assert.deepEqual(fields(errorsOf(scInfo, sc({ provisioner: "other.io/x" }), sc({}))), [
    "provisioner: Forbidden: updates to provisioner are forbidden.",
  ]);
});

test("a disruption budget names minAvailable or maxUnavailable, not both", () => {
  const pdbInfo = findResource("policy", "v1", "poddisruptionbudgets")!;
  const pdb = (spec: Obj): Obj => ({ metadata: { name: "b", namespace: "default" }, spec });
  assert.deepEqual(
    errorsOf(pdbInfo, pdb({ minAvailable: "50%", selector: { matchLabels: { a: "b" } } })),
    [],
  );
  assert.deepEqual(
    fields(
      errorsOf(
        pdbInfo,
        pdb({ minAvailable: 1, maxUnavailable: "150%", unhealthyPodEvictionPolicy: "Never" }),
      ),
    ),
    [
      `spec: Invalid value: {"minAvailable":1,"maxUnavailable":"150%","unhealthyPodEvictionPolicy":"Never"}: minAvailable and maxUnavailable cannot be both set`,
      `spec.maxUnavailable: Invalid value: "150%": must not be greater than 100%`,
      `spec.unhealthyPodEvictionPolicy: Unsupported value: "Never": supported values: "AlwaysAllow", "IfHealthyBudget"`,
    ],
  );
});

test("a StatefulSet's claim templates are whole PersistentVolumeClaims, as 1.31 returns them", () => {
  const sts = statefulSet();
  const template = ((sts.spec as Obj).volumeClaimTemplates as Obj[])[0]!;
  Object.assign(template, { apiVersion: "v1", kind: "PersistentVolumeClaim" });
  assert.deepEqual(unknownFields(stsInfo, sts), []);
  applyDefaults(stsInfo, sts);
  assert.deepEqual(validate(stsInfo, sts), []);
  // 1.31 defaults a template's status as it does a claim's.
  assert.deepEqual(template.status, { phase: "Pending" });
});

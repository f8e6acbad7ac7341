// The scheduler's Prometheus metrics, named as kube-scheduler names them.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export type AttemptResult = "scheduled" | "unschedulable" | "error";

export class SchedulerMetrics {
  readonly registry = new Registry();
  readonly attempts: Counter<"result" | "profile">;
  readonly attemptDuration: Histogram<"result" | "profile">;
  readonly podSchedulingDuration: Histogram<"attempts">;
  readonly pendingPods: Gauge<"queue">;

  constructor(
    queueLengths: () => { active: number; backoff: number; unschedulable: number } = () => ({
      active: 0,
      backoff: 0,
      unschedulable: 0,
    }),
  ) {
    const registers = [this.registry];
    this.attempts = new Counter({
      name: "scheduler_schedule_attempts_total",
      help: "Number of attempts to schedule pods, by the result.",
      labelNames: ["result", "profile"],
      registers,
    });
    this.attemptDuration = new Histogram({
      name: "scheduler_scheduling_attempt_duration_seconds",
      help: "Scheduling attempt latency in seconds (scheduling algorithm + binding).",
      labelNames: ["result", "profile"],
      buckets: [
        0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096,
        8.192,
      ],
      registers,
    });
    this.podSchedulingDuration = new Histogram({
      name: "scheduler_pod_scheduling_sli_duration_seconds",
      help: "E2e latency for a pod being scheduled, from the time the pod enters the scheduling queue until it is bound.",
      labelNames: ["attempts"],
      buckets: [
        0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
        163.84,
      ],
      registers,
    });
    this.pendingPods = new Gauge({
      name: "scheduler_pending_pods",
      help: "Number of pending pods, by the queue type.",
      labelNames: ["queue"],
      registers,
      collect() {
        const l = queueLengths();
        this.set({ queue: "active" }, l.active);
        this.set({ queue: "backoff" }, l.backoff);
        this.set({ queue: "unschedulable" }, l.unschedulable);
      },
    });
  }
}

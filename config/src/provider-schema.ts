import { z } from "zod";
import { about, positiveInt } from "./schema-parts.js";

const kubernetesSchema = z
  .object({
    namespace: z
      .string()
      .default("")
      .meta(about('Namespace of the pools; empty: the pod\'s own (or "default" outside a cluster).')),
    kubeconfig: z
      .string()
      .default("")
      .meta(about("Path of a kubeconfig; empty: in-cluster credentials, else the default kubeconfig.")),
    deployment_template: z
      .string()
      .includes("{pool}")
      .default("chorus-agent-{pool}")
      .meta(about("Name of each pool's Deployment; {pool} is the pool name.")),
    service_template: z
      .string()
      .includes("{pool}")
      .default("chorus-agent-{pool}")
      .meta(about("Name of each pool's Service, whose EndpointSlices list its ready pods.")),
    agent_port_name: z.string().default("grpc").meta(about("The agent container's named gRPC port.")),
    lease_name: z
      .string()
      .min(1)
      .default("chorus-orchestrator")
      .meta(about("The coordination.k8s.io Lease: only the orchestrator holding it scales.")),
    lease_duration_seconds: positiveInt
      .default(15)
      .meta(about("How long a leader's Lease is valid without renewal.")),
    renew_deadline_seconds: positiveInt
      .default(10)
      .meta(about("The leader gives up if it cannot renew within this (less than lease_duration_seconds).")),
    retry_period_seconds: positiveInt
      .default(2)
      .meta(
        about("How often candidates try to acquire or renew the Lease (less than renew_deadline_seconds)."),
      ),
    load_report_ms: z
      .number()
      .int()
      .min(100)
      .max(60_000)
      .default(1000)
      .meta(
        about(
          "How often each orchestrator publishes the load it routes (pod annotation chorus.dev/load); the leader scales on the sum.",
        ),
      ),
  })
  .strict()
  // As in client-go: a leader must give up before its lease lapses, and retry before that.
  .superRefine((lease, ctx) => {
    if (lease.renew_deadline_seconds >= lease.lease_duration_seconds)
      ctx.addIssue({
        code: "custom",
        path: ["renew_deadline_seconds"],
        message: "must be less than lease_duration_seconds",
      });
    if (lease.retry_period_seconds >= lease.renew_deadline_seconds)
      ctx.addIssue({
        code: "custom",
        path: ["retry_period_seconds"],
        message: "must be less than renew_deadline_seconds",
      });
  });

const localSchema = z
  .object({
    max_agent_blocks: z
      .number()
      .int()
      .min(0)
      .max(4096)
      .default(0)
      .meta(
        about(
          "Most agent processes on this host the strategies scale out to, across all pools (0: eight per CPU, from os.availableParallelism()); init_blocks, min_blocks and counts set by hand start regardless.",
        ),
      ),
    max_cpu_busy: z
      .number()
      .gt(0)
      .max(1)
      .default(0.85)
      .meta(
        about(
          "The strategies add no agent process while the host's CPUs were at least this busy (0–1, all processes) over the last 3 s: a CPU-bound host gains nothing from another process, a pool waiting on a slow model still grows. 1 turns the check off.",
        ),
      ),
  })
  .strict();

/** The `provider:` section: where agent blocks come from, and the Kubernetes provider's names and Lease. */
export const providerSchema = z
  .object({
    kind: z
      .enum(["local", "kubernetes"])
      .default("local")
      .meta(about("local: agent blocks are child processes; kubernetes: pods of one Deployment per pool.")),
    local: localSchema
      .prefault({})
      .meta(about("The local provider: agent blocks as child processes of the orchestrator.")),
    kubernetes: kubernetesSchema
      .prefault({})
      .meta(
        about(
          "The kubernetes provider: the pools' names, and the Lease that elects the scaling orchestrator.",
        ),
      ),
  })
  .strict();

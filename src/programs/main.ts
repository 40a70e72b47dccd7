/** The `ark` command: `ark serve`, `ark engine`, `ark migrate`, `ark migrate-resources`, `ark crds`. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Cause, Console, Effect, Exit, Runtime } from "effect"
import { Command } from "effect/cli"
import { crdsYaml } from "../domain/crds.ts"
import { databaseLayer } from "./database.ts"
import { loggingLayer } from "./logging.ts"
import { completionsUrl, databaseFlags, logFlags, demoEngine, demoFallback, engineFlags, engineKubeconfig, host, insecureHttp, leaderElection, leaderElectionKubeconfig, metricsPort, modules, port, queryConcurrency, webhookCertDir, webhookPort, readReplicaFlags, migrateResourcesFlags } from "./flags.ts"
import { securityFlags } from "./securityFlags.ts"
import { migrateResources } from "./migrateResources.ts"
import { serve } from "./serve.ts"
import { engine } from "./engine.ts"

/**
 * A failure that stops `ark` (a bad flag combination, an unreachable database) is printed as
 * one line for the user; the process then exits 1 (the runtime's own report is switched off).
 */
const reportFailure = <A, E, R>(self: Effect.Effect<A, E, R>) =>
  self.pipe(
    Effect.tapCause((cause) => {
      if (Cause.hasInterruptsOnly(cause)) return Effect.void
      return Console.error(`ark: ${describe(Cause.squash(cause)) ?? Cause.pretty(cause)}`)
    })
  )

/** An error's message, else its cause's (a port already in use comes as a ServeError without one). */
const describe = (error: unknown, depth = 0): string | undefined => {
  if (!(error instanceof Error) || depth > 3) return undefined
  return error.message !== "" ? error.message : describe(error.cause, depth + 1)
}

const migrate = Command.make(
  "migrate",
  databaseFlags,
  (options) =>
    Effect.gen(function*() {
      yield* Console.log("ark: database schema is up to date")
    }).pipe(Effect.provide(databaseLayer(options)), reportFailure)
).pipe(Command.withDescription("Apply the database migrations and exit (replicas also migrate on start)"))

const serveCommand = Command.make(
  "serve",
  { ...databaseFlags, ...securityFlags, ...readReplicaFlags, ...logFlags, host, port, insecureHttp, modules, leaderElection, leaderElectionKubeconfig, queryConcurrency, completionsUrl, demoEngine, demoFallback, engineKubeconfig, webhookPort, webhookCertDir, metricsPort },
  (options) =>
    serve(options).pipe(reportFailure, Effect.provide(loggingLayer(options.logFormat, options.logLevel, process.stderr.isTTY === true)))
).pipe(Command.withDescription("Serve the Kubernetes API for ark.mckinsey.com (kubectl: --kubeconfig <data-dir>/kubeconfig)"))

const engineCommand = Command.make(
  "engine",
  { ...engineFlags, ...logFlags },
  (options) => engine(options).pipe(reportFailure, Effect.provide(loggingLayer(options.logFormat, options.logLevel, process.stderr.isTTY === true)))
).pipe(Command.withDescription(
  "Serve the completions engine over A2A (upstream Ark's query extension): runs each Query it is sent, reading the Query, its Agent, Model, Tools and Secrets from the Kubernetes API"
))

const migrateResourcesCommand = Command.make("migrate-resources", migrateResourcesFlags, (options) =>
  migrateResources(options).pipe(reportFailure)).pipe(
    Command.withDescription(
      "Copy every Ark resource (specs, metadata and statuses) from one API server to another, e.g. from an etcd/CRD installation to ark serve on PostgreSQL; safe to run again"
    )
  )

const crds = Command.make("crds", {}, () => Console.log(crdsYaml().trimEnd())).pipe(
  Command.withDescription(
    "Print the CustomResourceDefinitions of every Ark kind (YAML), for kube-apiserver to serve them from etcd: ark crds | kubectl apply -f -"
  )
)

const ark = Command.make("ark").pipe(
  Command.withDescription("Ark control plane: Kubernetes API for ark.mckinsey.com on PostgreSQL or etcd"),
  Command.withSubcommands([serveCommand, engineCommand, migrate, migrateResourcesCommand, crds])
)

/** A stop by SIGTERM or Ctrl-C that drained cleanly is a success, as orchestrators expect. */
const teardown: Runtime.Teardown = (exit, onExit) =>
  Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)

ark.pipe(
  Command.run({ version: "0.1.0" }),
  Effect.provide(NodeServices.layer),
  NodeRuntime.runMain({ teardown, disableErrorReporting: true })
)
